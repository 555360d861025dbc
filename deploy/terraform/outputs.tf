output "cluster_name" {
  value = google_container_cluster.plue.name
}

output "cluster_location" {
  value = google_container_cluster.plue.location
}

output "registry" {
  description = "prefix of the plue-server and plue-runner images"
  value       = "${var.region}-docker.pkg.dev/${var.project}/${google_artifact_registry_repository.plue.repository_id}"
}

output "database_url" {
  description = "PLUE_DATABASE_URL for the Secret plue-database (key url)"
  value       = "postgresql://${google_sql_user.plue.name}:${random_password.db.result}@${google_sql_database_instance.plue.private_ip_address}:5432/${google_sql_database.plue.name}?sslmode=require"
  sensitive   = true
}

output "filestore_address" {
  description = "what filestore.plue.internal resolves to"
  value       = google_filestore_instance.repositories.networks[0].ip_addresses[0]
}
