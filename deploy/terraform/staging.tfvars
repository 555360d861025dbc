project                = "plue-staging"
environment            = "staging"
region                 = "europe-west1"
runner_nodes_per_zone  = { min = 0, max = 2 }
sql_tier               = "db-custom-1-3840"
sql_high_availability  = false
sql_backup_retention   = 7
filestore_tier         = "BASIC_HDD"
deletion_protection    = false
