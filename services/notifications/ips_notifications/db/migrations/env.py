from ips_shared.db import run_migrations_env
from ips_notifications.db.tables import metadata

run_migrations_env(metadata)
