"""Suivi: commitment tracking for French *contrats de ville*."""

__version__ = "0.1.0"
