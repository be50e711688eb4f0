from ips_directory.db.tables import metadata
from ips_shared.db import run_migrations_env

run_migrations_env(metadata)
