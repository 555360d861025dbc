# Plue on Google Cloud: a regional GKE cluster with private nodes and
# Workload Identity, a node pool for the servers and a gVisor (GKE Sandbox)
# pool for runner pods, Cloud SQL for PostgreSQL 15 on a private IP, a
# Filestore share for the repositories, and an Artifact Registry for the
# images. One state per environment: `terraform workspace` or a backend
# prefix per environment, with staging.tfvars or production.tfvars.
terraform {
  required_version = ">= 1.5"
  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 6.0"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.6"
    }
  }
  # the state holds the database password: keep it in a private bucket
  backend "gcs" {}
}

provider "google" {
  project = var.project
  region  = var.region
}
