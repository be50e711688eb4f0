"""How the world reaches notifications: its consumers and its command line."""
