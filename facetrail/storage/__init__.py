"""Storage: the relational store (SQLAlchemy) and the object store for evidence crops."""
