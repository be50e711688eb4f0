"""Certification: the hours ledger, the versioned policy and status over time."""

SERVICE = "certification"
