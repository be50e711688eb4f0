"""The directory's use cases, one function per use case, `(message, uow)`: verification,
listings and groups arrive with the directory issue."""
