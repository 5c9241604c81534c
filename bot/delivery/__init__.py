"""Delivering the outbox: claiming rows, channels, quiet hours, retries, rendering."""
