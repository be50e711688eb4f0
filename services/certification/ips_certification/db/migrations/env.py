from ips_shared.db import run_migrations_env
from ips_certification.db.tables import metadata

run_migrations_env(metadata)
