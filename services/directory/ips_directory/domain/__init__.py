"""Directory rules: plain functions and classes, no I/O (they arrive with the directory
issue)."""
