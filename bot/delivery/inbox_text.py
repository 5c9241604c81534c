"""What an inbox item says, in the reader's language: the alert's own text, as staff chats get it.

A console page and the CLI show an item with :func:`item_text`: the same renderer as the alert
sent to staff chats and phones (:mod:`bot.delivery.notifications`), so the inbox never says more
(or less) than the alert did; a message's text comes from the item itself.
"""

from __future__ import annotations

from bot.delivery import notifications
from bot.i18n import Translator
from bot.storage.models import Clinic, InboxItem, OutboxMessage
from bot.storage.uow import UnitOfWork


async def item_text(uow: UnitOfWork, clinic: Clinic, item: InboxItem, t: Translator) -> str:
    """The item as its alert reads, or a note that what it was about is gone."""
    params = dict(item.params or {})
    if item.kind == "message":
        params["inbox_id"] = item.id
    row = OutboxMessage(kind=item.kind, purpose=item.key, params=params)
    notice = await notifications.render(uow, clinic, row, t)
    if notice is None:
        return t.gettext("What this alert was about is gone (cancelled, merged or settled).")
    return notice.text
