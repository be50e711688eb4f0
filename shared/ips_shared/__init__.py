"""Contracts, reliable messaging primitives and logging set-up shared by the IPS services.

Nothing here knows about any one service's tables or rules.
"""
