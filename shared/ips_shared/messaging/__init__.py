"""Reliable messaging: transactional outbox, idempotent inbox, explicit-ack batch consumers."""
