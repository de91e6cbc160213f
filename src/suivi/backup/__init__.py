"""Backups and restores: the database, the reports archive and the outbox (see service.py)."""
