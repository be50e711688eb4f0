"""Notifications' use cases: one function per use case, `(message, uow)`."""
