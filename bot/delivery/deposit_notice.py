"""What a patient reads when an unpaid deposit released their time (issue 20)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.services import catalog
from bot.storage.models import Appointment, Patient

if TYPE_CHECKING:
    from bot.delivery.notifications import Notice, Rendering


async def deposit_released(r: Rendering) -> Notice | None:
    """The appointment the deposit held was released: what, when, and how to book again."""
    from bot.delivery.notifications import Notice

    appointment = await r.uow.session.get(Appointment, r.param("appointment_id"))
    patient = await r.uow.session.get(Patient, appointment.patient_id) if appointment else None
    if appointment is None or patient is None:
        return None
    fee = await catalog.get_fee(r.uow, appointment.fee_id)
    return Notice(r.t.gettext(
        "{clinic}: the deposit for {name}'s {treatment} on {when} was not paid in time, so the "
        "time was released. You can book again from the menu.",
        clinic=r.clinic.name, name=patient.first_name, treatment=fee.name,
        when=r.when(appointment.starts_at)))
