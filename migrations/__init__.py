"""Alembic migrations: one linear history, applied by ``pds db upgrade``."""
