"""Certification's use cases, one function per use case: `(message, uow, *, dependencies)`
for commands and queries, `(events, uow, *, dependencies)` for what the consumers apply.
The dependencies (`calendar`, `policy`, `wake_scheduler`) are bound by the bus."""
