"""How the world reaches certification: its HTTP routes, its consumers, the scheduler that
follows the calendar, and its command line."""
