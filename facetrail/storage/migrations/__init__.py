"""Alembic migrations of the facetrail schema (applied to PostgreSQL by facetrail.storage.database)."""
