"""The SQLAlchemy store: engine, metadata, migrations and repositories."""
