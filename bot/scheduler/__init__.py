"""The clinic's clock: APScheduler jobs that run the sweeps and the delivery pass."""
