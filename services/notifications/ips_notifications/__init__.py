"""Notifications: tells peers, by the channel they chose, what is due and what changed."""

SERVICE = "notifications"
