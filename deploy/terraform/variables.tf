variable "project" {
  type        = string
  description = "Google Cloud project id"
}

variable "region" {
  type        = string
  description = "region of the cluster, the database, the registry"
  default     = "europe-west1"
}

variable "environment" {
  type        = string
  description = "staging or production; prefixes every resource name"
  validation {
    condition     = contains(["staging", "production"], var.environment)
    error_message = "environment must be staging or production."
  }
}

variable "master_authorized_cidrs" {
  type        = list(string)
  description = "networks allowed to reach the cluster's API endpoint (the deploy runner's egress, operators)"
  default     = []
}

variable "server_machine_type" {
  type    = string
  default = "e2-standard-4"
}

variable "server_nodes_per_zone" {
  type        = object({ min = number, max = number })
  description = "autoscaling bounds of the servers' pool, per zone"
  default     = { min = 1, max = 3 }
}

variable "runner_machine_type" {
  type    = string
  default = "e2-standard-8"
}

variable "runner_nodes_per_zone" {
  type        = object({ min = number, max = number })
  description = "autoscaling bounds of the runners' gVisor pool, per zone"
  default     = { min = 0, max = 4 }
}

variable "sql_tier" {
  type    = string
  default = "db-custom-2-7680"
}

variable "sql_high_availability" {
  type        = bool
  description = "a standby in a second zone (REGIONAL); production sets it"
  default     = false
}

variable "sql_backup_retention" {
  type        = number
  description = "daily backups kept"
  default     = 7
}

variable "filestore_tier" {
  type        = string
  description = "BASIC_HDD or BASIC_SSD (zonal), or REGIONAL (survives a zone)"
  default     = "BASIC_HDD"
}

variable "filestore_capacity_gb" {
  type    = number
  default = 1024
}

variable "deletion_protection" {
  type        = bool
  description = "refuse to destroy the cluster and the database"
  default     = true
}
