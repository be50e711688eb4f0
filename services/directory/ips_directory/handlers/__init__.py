"""The directory's use cases: one function per use case, `(message, uow)`."""
