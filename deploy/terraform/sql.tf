# PostgreSQL 15 on a private address only (no public IP), TLS required,
# daily backups with point-in-time recovery, a standby in a second zone
# where sql_high_availability is set (production).

resource "google_sql_database_instance" "plue" {
  name             = "plue-${var.environment}"
  database_version = "POSTGRES_15"
  region           = var.region

  depends_on = [google_service_networking_connection.services]

  settings {
    tier              = var.sql_tier
    availability_type = var.sql_high_availability ? "REGIONAL" : "ZONAL"
    disk_autoresize   = true

    ip_configuration {
      ipv4_enabled    = false
      private_network = google_compute_network.plue.id
      ssl_mode        = "ENCRYPTED_ONLY"
    }

    backup_configuration {
      enabled                        = true
      start_time                     = "03:00"
      point_in_time_recovery_enabled = true
      backup_retention_settings {
        retained_backups = var.sql_backup_retention
      }
    }

    maintenance_window {
      day  = 7
      hour = 4
    }

    # LISTEN/NOTIFY fans events out across replicas; each replica holds a
    # worker pool of connections
    database_flags {
      name  = "max_connections"
      value = "400"
    }
  }

  deletion_protection = var.deletion_protection
}

resource "google_sql_database" "plue" {
  name     = "plue"
  instance = google_sql_database_instance.plue.name
}

resource "random_password" "db" {
  length  = 32
  special = false
}

resource "google_sql_user" "plue" {
  name     = "plue"
  instance = google_sql_database_instance.plue.name
  password = random_password.db.result
}
