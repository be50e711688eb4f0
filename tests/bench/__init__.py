import sys
from pathlib import Path

# The benchmarks start nats-server with the same launcher as `make run`.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "deploy" / "local"))
