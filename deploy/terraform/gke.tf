# The cluster: regional (control plane and nodes in three zones), private
# nodes, Workload Identity, Dataplane V2 (which enforces the runner pods'
# NetworkPolicies). Two pools: the servers', and the runners' with GKE
# Sandbox (gVisor) whose nodes carry the label and taint
# plue.dev/runner=true (NoSchedule), so only pods that tolerate it — runner
# pods, whose RuntimeClass gvisor adds the toleration — are placed there,
# and a step escaping its container lands beside other runner pods only.

resource "google_service_account" "nodes" {
  account_id   = "plue-${var.environment}-nodes"
  display_name = "Plue ${var.environment} GKE nodes"
}

# nodes pull images, write logs and metrics; nothing more
resource "google_project_iam_member" "nodes" {
  for_each = toset([
    "roles/artifactregistry.reader",
    "roles/logging.logWriter",
    "roles/monitoring.metricWriter",
    "roles/monitoring.viewer",
  ])
  project = var.project
  role    = each.value
  member  = "serviceAccount:${google_service_account.nodes.email}"
}

resource "google_container_cluster" "plue" {
  name     = "plue-${var.environment}"
  location = var.region

  network    = google_compute_network.plue.id
  subnetwork = google_compute_subnetwork.nodes.id

  # the pools below replace the default one
  remove_default_node_pool = true
  initial_node_count       = 1

  networking_mode   = "VPC_NATIVE"
  datapath_provider = "ADVANCED_DATAPATH"
  ip_allocation_policy {
    cluster_secondary_range_name  = "pods"
    services_secondary_range_name = "services"
  }

  private_cluster_config {
    enable_private_nodes    = true
    enable_private_endpoint = false
    master_ipv4_cidr_block  = "172.16.0.0/28"
  }

  master_authorized_networks_config {
    dynamic "cidr_blocks" {
      for_each = var.master_authorized_cidrs
      content {
        cidr_block = cidr_blocks.value
      }
    }
  }

  workload_identity_config {
    workload_pool = "${var.project}.svc.id.goog"
  }

  release_channel {
    channel = "REGULAR"
  }

  deletion_protection = var.deletion_protection
}

resource "google_container_node_pool" "servers" {
  name     = "servers"
  cluster  = google_container_cluster.plue.id
  location = var.region

  autoscaling {
    min_node_count = var.server_nodes_per_zone.min
    max_node_count = var.server_nodes_per_zone.max
  }

  management {
    auto_repair  = true
    auto_upgrade = true
  }

  node_config {
    machine_type    = var.server_machine_type
    image_type      = "COS_CONTAINERD"
    service_account = google_service_account.nodes.email
    oauth_scopes    = ["https://www.googleapis.com/auth/cloud-platform"]
    labels = {
      "plue.dev/pool" = "servers"
    }
    workload_metadata_config {
      mode = "GKE_METADATA"
    }
    shielded_instance_config {
      enable_secure_boot          = true
      enable_integrity_monitoring = true
    }
  }
}

resource "google_container_node_pool" "runners" {
  name     = "runners"
  cluster  = google_container_cluster.plue.id
  location = var.region

  autoscaling {
    min_node_count = var.runner_nodes_per_zone.min
    max_node_count = var.runner_nodes_per_zone.max
  }

  management {
    auto_repair  = true
    auto_upgrade = true
  }

  node_config {
    machine_type    = var.runner_machine_type
    image_type      = "COS_CONTAINERD"
    service_account = google_service_account.nodes.email
    oauth_scopes    = ["https://www.googleapis.com/auth/cloud-platform"]

    sandbox_config {
      sandbox_type = "gvisor"
    }

    labels = {
      "plue.dev/runner" = "true"
    }

    taint {
      key    = "plue.dev/runner"
      value  = "true"
      effect = "NO_SCHEDULE"
    }

    # pods see the GKE metadata server, which hands out no node credentials
    workload_metadata_config {
      mode = "GKE_METADATA"
    }
    shielded_instance_config {
      enable_secure_boot          = true
      enable_integrity_monitoring = true
    }
  }
}

resource "google_artifact_registry_repository" "plue" {
  repository_id = "plue"
  location      = var.region
  format        = "DOCKER"
  description   = "plue-server and plue-runner images"
}
