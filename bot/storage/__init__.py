"""Storage: SQLAlchemy 2 models, the engine, migrations and the unit of work."""
