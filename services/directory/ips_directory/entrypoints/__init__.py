"""How the world reaches the directory: for now its health endpoints and command line."""
