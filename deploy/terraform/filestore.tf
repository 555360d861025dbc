# The repository volume: one NFS share every server replica mounts
# (deploy/k8s/base/storage.yaml), reached by name through a private DNS
# zone so the manifests carry no address.

resource "google_filestore_instance" "repositories" {
  name     = "plue-${var.environment}"
  # basic tiers live in one zone; REGIONAL spans the region
  location = var.filestore_tier == "REGIONAL" ? var.region : "${var.region}-b"
  tier     = var.filestore_tier

  file_shares {
    name        = "plue"
    capacity_gb = var.filestore_capacity_gb
    nfs_export_options {
      ip_ranges   = [google_compute_subnetwork.nodes.ip_cidr_range]
      access_mode = "READ_WRITE"
      squash_mode = "NO_ROOT_SQUASH"
    }
  }

  networks {
    network      = google_compute_network.plue.name
    modes        = ["MODE_IPV4"]
    connect_mode = "PRIVATE_SERVICE_ACCESS"
  }

  depends_on = [google_service_networking_connection.services]
}

resource "google_dns_managed_zone" "internal" {
  name       = "plue-${var.environment}-internal"
  dns_name   = "plue.internal."
  visibility = "private"
  private_visibility_config {
    networks {
      network_url = google_compute_network.plue.id
    }
  }
}

resource "google_dns_record_set" "filestore" {
  managed_zone = google_dns_managed_zone.internal.name
  name         = "filestore.plue.internal."
  type         = "A"
  ttl          = 300
  rrdatas      = [google_filestore_instance.repositories.networks[0].ip_addresses[0]]
}
