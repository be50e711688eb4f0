"""How the world reaches enrollment: its HTTP API and its command line (it consumes no
events)."""
