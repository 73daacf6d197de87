"""Alembic revisions, one per file (Alembic skips this ``__init__``)."""
