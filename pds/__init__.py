"""PDS: a personal data store for local-council digital services."""

__version__ = "0.1.0"
