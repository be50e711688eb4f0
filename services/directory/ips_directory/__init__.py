"""Directory: the public, opt-in directory of specialists and certificate verification."""

SERVICE = "directory"
