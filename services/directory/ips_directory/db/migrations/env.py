from ips_shared.db import run_migrations_env
from ips_directory.db.tables import metadata

run_migrations_env(metadata)
