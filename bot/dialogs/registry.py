"""Every dialog the bot runs, by name: the one place that lists them."""

from __future__ import annotations

from bot.dialogs.appointments import MyAppointments
from bot.dialogs.base import Dialog
from bot.dialogs.book import Book
from bot.dialogs.buy import Buy
from bot.dialogs.data_request import DataRequest
from bot.dialogs.language import Language
from bot.dialogs.link import Link
from bot.dialogs.memberships import Memberships
from bot.dialogs.menu import Menu
from bot.dialogs.packages import MyPackages
from bot.dialogs.register import Register
from bot.dialogs.reminder import Reminder
from bot.dialogs.series import BookSeries
from bot.dialogs.talk import Talk
from bot.dialogs.waitlist_offer import WaitlistOfferDialog


def build_dialogs() -> dict[str, Dialog]:
    """The dialogs by name, with the main menu knowing where each one starts."""
    dialogs: list[Dialog] = [Register(), Language(), Talk(), Buy(), MyPackages(), Memberships(),
                            Book(), MyAppointments(), Reminder(), BookSeries(),
                            WaitlistOfferDialog(), DataRequest()]
    menu = Menu({dialog.name: dialog.first_step for dialog in dialogs})
    return {dialog.name: dialog for dialog in [menu, *dialogs, Link()]}
