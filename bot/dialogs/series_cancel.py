"""My appointments, for an appointment booked as part of a series (issue 19): call off this
one (the ordinary ``cancel`` step: one use back) or this one and the rest of the series (the
``cancel_rest`` step here: every use back, :func:`bot.services.series.cancel_rest`)."""

from __future__ import annotations

from bot.dialogs.base import Answer, Dialog, DialogContext, Finish, Goto, Result, Retry
from bot.dialogs.types import Option, Reply
from bot.services import packages, series
from bot.services.errors import TooLateToCancel
from bot.storage.models import Appointment, AppointmentSeries

CANCEL_REST, YES_REST, NO, BACK = "rest", "yes", "no", "back"


class CancelsSeries(Dialog):
    """The ``cancel_rest`` step; the dialog provides :meth:`appointment`."""

    async def appointment(self, ctx: DialogContext) -> Appointment | None:
        """The chosen appointment if it is still one of the subject's upcoming ones."""
        raise NotImplementedError

    async def rest(self, ctx: DialogContext) -> list[Appointment]:
        """The chosen appointment and the later ones of its series still booked."""
        appointment = await self.appointment(ctx)
        return [] if appointment is None else await series.rest_of_series(ctx.uow, appointment)

    async def ask_cancel_rest(self, ctx: DialogContext) -> Reply:
        rest = await self.rest(ctx)
        if not rest:
            return Reply(ctx._("This appointment is no longer booked."),
                         (Option(BACK, ctx._("Back")),))
        lines = [ctx.t.ngettext(
            "Call off this session and the rest of the series ({n} session)?",
            "Call off this session and the rest of the series ({n} sessions)?", len(rest),
        )]
        lines.extend(ctx._("- {when}", when=ctx.when(a.starts_at)) for a in rest)
        options = (Option(YES_REST, ctx._("Yes, call them off")),
                   Option(NO, ctx._("No, keep them")))
        return Reply("\n".join(lines), options)

    async def on_cancel_rest(self, ctx: DialogContext, answer: Answer) -> Result:
        if answer.key in (NO, BACK):
            return Goto("list")
        appointment = await self.appointment(ctx)
        if answer.key != YES_REST or appointment is None:
            return Retry(ctx._("Please answer with the number of one of the choices."))
        assert ctx.account is not None
        try:
            done = await series.cancel_rest(
                ctx.uow, appointment.id, by="patient", acting_patient_id=ctx.account.id
            )
        except TooLateToCancel:
            return Goto("too_late")
        said = ctx.t.ngettext("Cancelled {n} session.", "Cancelled {n} sessions.", len(done))
        package_id = await series_package_id(ctx, appointment)
        if package_id is None:
            return Finish([said])
        package = await packages.get_package(ctx.uow, package_id)
        return Finish([said, ctx.t.ngettext(
            "Your {package} has {n} use left.", "Your {package} has {n} uses left.",
            package.available, package=package.name,
        )])


async def series_package_id(ctx: DialogContext, appointment: Appointment) -> int | None:
    """The package the appointment's series was booked with."""
    if appointment.series_id is None:
        return None
    row = await ctx.uow.session.get(AppointmentSeries, appointment.series_id)
    return row.package_id if row is not None else None
