from ips_directory.db.tables import SEARCH_INDEX_NAMES, metadata
from ips_shared.db import run_migrations_env

run_migrations_env(metadata, unmanaged=SEARCH_INDEX_NAMES)
