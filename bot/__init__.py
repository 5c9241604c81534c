"""clinic-booking-bot: the booking bot physio, massage and chiropractic clinics run."""

__version__ = "0.1.0"
