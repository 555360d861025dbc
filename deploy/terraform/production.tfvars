project                = "plue-production"
environment            = "production"
region                 = "europe-west1"
server_nodes_per_zone  = { min = 1, max = 4 }
runner_nodes_per_zone  = { min = 1, max = 8 }
sql_tier               = "db-custom-4-15360"
sql_high_availability  = true
sql_backup_retention   = 30
filestore_tier         = "REGIONAL"
deletion_protection    = true
