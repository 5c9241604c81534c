"""Alembic migrations for the clinic's schema (run by ``clinicbot db upgrade`` and on start)."""
