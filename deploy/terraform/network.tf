# A VPC of its own: nodes, pods and services in one subnet with secondary
# ranges (VPC-native), a peering for Cloud SQL's and Filestore's private
# addresses, and Cloud NAT so private nodes (no public IPs) reach the model
# API and package mirrors.
resource "google_compute_network" "plue" {
  name                    = "plue-${var.environment}"
  auto_create_subnetworks = false
}

resource "google_compute_subnetwork" "nodes" {
  name                     = "plue-${var.environment}-nodes"
  network                  = google_compute_network.plue.id
  region                   = var.region
  ip_cidr_range            = "10.10.0.0/20"
  private_ip_google_access = true
  secondary_ip_range {
    range_name    = "pods"
    ip_cidr_range = "10.16.0.0/14"
  }
  secondary_ip_range {
    range_name    = "services"
    ip_cidr_range = "10.20.0.0/20"
  }
}

resource "google_compute_global_address" "services" {
  name          = "plue-${var.environment}-services"
  purpose       = "VPC_PEERING"
  address_type  = "INTERNAL"
  prefix_length = 20
  network       = google_compute_network.plue.id
}

resource "google_service_networking_connection" "services" {
  network                 = google_compute_network.plue.id
  service                 = "servicenetworking.googleapis.com"
  reserved_peering_ranges = [google_compute_global_address.services.name]
}

resource "google_compute_router" "plue" {
  name    = "plue-${var.environment}"
  network = google_compute_network.plue.id
  region  = var.region
}

resource "google_compute_router_nat" "plue" {
  name                               = "plue-${var.environment}"
  router                             = google_compute_router.plue.name
  region                             = var.region
  nat_ip_allocate_option             = "AUTO_ONLY"
  source_subnetwork_ip_ranges_to_nat = "ALL_SUBNETWORKS_ALL_IP_RANGES"
}
