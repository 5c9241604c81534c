"""Benchmarks of clinic-booking-bot on a large clinic: ``python -m benchmarks`` (see README.md)."""
