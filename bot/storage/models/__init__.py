"""Every table, importable from one place (Alembic and the services use this module)."""

from bot.storage.models.appointments import LIVE_STATUSES, Appointment, NoShow
from bot.storage.models.audit import AuditEntry
from bot.storage.models.base import Base
from bot.storage.models.billing import (
    CreditEntry,
    Invoice,
    InvoiceReminder,
    Membership,
    MembershipPlan,
    MembershipSchedule,
    Payment,
)
from bot.storage.models.checkout import CheckoutSession
from bot.storage.models.clinic import (
    Clinic,
    Fee,
    Location,
    NoShowFee,
    Practitioner,
    WorkingHours,
    fee_practitioner,
)
from bot.storage.models.closures import Closure
from bot.storage.models.desk import DeskLoginGuard, DeskSession, StaffPassword
from bot.storage.models.inbound import InboundMessage
from bot.storage.models.inbox import InboxItem, InboxReply
from bot.storage.models.invitations import Invitation, InvitationGuard
from bot.storage.models.kept_apart import KeptApart
from bot.storage.models.messaging import OutboxMessage
from bot.storage.models.packages import (
    PackageRedemption,
    PackageTemplate,
    PatientPackage,
)
from bot.storage.models.people import Conversation, Patient, Staff, guardianship
from bot.storage.models.receipts import SessionReceipt
from bot.storage.models.security import StaffCodeGuard
from bot.storage.models.series import AppointmentSeries
from bot.storage.models.waitlist import WaitlistEntry, WaitlistOffer

__all__ = [
    "LIVE_STATUSES",
    "Appointment",
    "AppointmentSeries",
    "AuditEntry",
    "Base",
    "CheckoutSession",
    "Clinic",
    "Closure",
    "Conversation",
    "CreditEntry",
    "DeskLoginGuard",
    "DeskSession",
    "Fee",
    "InboundMessage",
    "InboxItem",
    "InboxReply",
    "Invitation",
    "InvitationGuard",
    "Invoice",
    "InvoiceReminder",
    "KeptApart",
    "Location",
    "Membership",
    "MembershipPlan",
    "MembershipSchedule",
    "NoShow",
    "NoShowFee",
    "OutboxMessage",
    "PackageRedemption",
    "PackageTemplate",
    "Patient",
    "PatientPackage",
    "Payment",
    "Practitioner",
    "SessionReceipt",
    "Staff",
    "StaffCodeGuard",
    "StaffPassword",
    "WaitlistEntry",
    "WaitlistOffer",
    "WorkingHours",
    "fee_practitioner",
    "guardianship",
]
