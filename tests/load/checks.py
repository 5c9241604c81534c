"""What must hold in the database after the load, read with plain SQL.

Each check returns the problems it found (an empty list when all is well), so the test can
report all of them at once: overlapping live appointments of one practitioner; a package whose
counters do not add up or disagree with its appointments and redemptions; a patient for whom the
database holds other bookings, cancellations or purchases than the bot confirmed; inbound
messages acted on twice or never answered; outbox rows left undelivered.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.e2e.twilio_standin import TwilioStandin
from tests.load.scripts import Done
from tests.load.servers import ChatStandin

LIVE = "('booked', 'arrived', 'no_show')"


async def rows(conn: AsyncConnection, sql: str, **params: Any) -> list[Any]:
    return list((await conn.execute(text(sql), params)).all())


async def overlaps(conn: AsyncConnection) -> list[str]:
    found = await rows(conn, f"""
        SELECT a.id, b.id, a.practitioner_id FROM appointment a JOIN appointment b
          ON a.practitioner_id = b.practitioner_id AND a.id < b.id
         AND a.starts_at < b.ends_at AND b.starts_at < a.ends_at
       WHERE a.status IN {LIVE} AND b.status IN {LIVE}""")
    return [f"appointments {a} and {b} of practitioner {p} overlap" for a, b, p in found]


async def package_problems(conn: AsyncConnection) -> list[str]:
    found = await rows(conn, f"""
        SELECT p.id, p.uses, p.redeemed, p.booked, p.available,
               (SELECT count(*) FROM appointment a WHERE a.package_id = p.id
                   AND a.status IN {LIVE} AND a.package_use = 'reserved') AS reserved,
               (SELECT count(*) FROM package_redemption r WHERE r.package_id = p.id) AS used
          FROM patient_package p""")
    problems = []
    for pid, uses, redeemed, booked, available, reserved, used in found:
        if min(redeemed, booked, available) < 0 or redeemed + booked + available != uses:
            problems.append(f"package {pid}: {redeemed}+{booked}+{available} != {uses}")
        if booked != reserved or redeemed != used:
            problems.append(f"package {pid}: booked {booked} but {reserved} appointments hold "
                            f"a use; redeemed {redeemed} but {used} redemptions")
    return problems


async def confirmed_matches_database(
    conn: AsyncConnection, done: dict[str, Done], last_package_before: int
) -> list[str]:
    """Per patient (by phone): bookings, package bookings, cancellations and purchases."""
    appointments = await rows(conn, """
        SELECT pa.phone, a.status, a.package_id FROM appointment a
          JOIN patient pa ON pa.id = a.patient_id WHERE a.booked_by = 'patient'""")
    bought = await rows(conn, """
        SELECT pa.phone, p.name FROM patient_package p JOIN patient pa ON pa.id = p.patient_id
         WHERE p.id > :before""", before=last_package_before)
    booked, with_package, cancelled = Counter(), Counter(), Counter()
    for phone, status, package_id in appointments:  # a cancelled one gave its use back
        booked[phone] += 1
        with_package[phone] += package_id is not None and status != "cancelled"
        cancelled[phone] += status == "cancelled"
    sold: dict[str, Counter[str]] = {}
    for phone, name in bought:
        sold.setdefault(phone, Counter())[name] += 1
    problems = []
    for phone, said in done.items():
        facts = (booked[phone], with_package[phone], cancelled[phone],
                 sold.get(phone, Counter()))
        told = (said.booked, said.booked_with_package - said.cancelled_with_package,
                said.cancelled, Counter(said.bought))
        if facts != told:
            problems.append(f"patient {phone[-4:]}: database has (booked, live with "
                            f"a package, cancelled, bought) {facts}, the bot confirmed {told}")
    strangers = (set(booked) | set(sold)) - set(done)
    problems += [f"patient {p[-4:]} has rows but never talked" for p in strangers]
    return problems


async def inbound_problems(conn: AsyncConnection, sms: set[str], updates: set[int],
                           forged: set[str]) -> list[str]:
    """One answered row per message delivered (however often), none for forged requests."""
    found = await rows(conn, "SELECT channel, external_id, reply FROM inbound_message")
    problems = [f"{channel} {eid} was never answered" for channel, eid, reply in found
                if reply is None]
    stored = Counter((channel, eid) for channel, eid, _ in found)
    expected = Counter([("sms", sid) for sid in sms] + [("telegram", str(u)) for u in updates])
    if stored != expected:
        missing, extra = expected - stored, stored - expected
        problems.append(f"inbound rows: {sum(missing.values())} missing, "
                        f"{sum(extra.values())} unexpected")
    problems += [f"a forged request left a row ({eid})" for _, eid in stored if eid in forged]
    return problems


async def outbox_rows(conn: AsyncConnection) -> list[Any]:
    return await rows(conn, """
        SELECT o.id, o.kind, o.status, o.channel, o.provider_message_id, o.body, o.last_error,
               pa.phone FROM outbox o LEFT JOIN patient pa ON pa.id = o.patient_id""")


async def last_package_id(conn: AsyncConnection) -> int:
    return int((await rows(conn, "SELECT coalesce(max(id), 0) FROM patient_package"))[0][0])


def delivery_problems(outbox: list[Any], twilio: TwilioStandin, standin: ChatStandin,
                      answers: dict[int, int]) -> list[str]:
    """Every sent row reached its provider exactly once, and nothing else was sent.

    ``answers``: per patient chat, how many of its first message calls were turn answers; the
    chat's later calls (and every call to other chats) must be outbox deliveries.
    """
    problems = [f"outbox {row.id} ({row.kind}) is {row.status}: {row.last_error}"
                for row in outbox if row.status not in ("sent", "skipped")
                or (row.status == "skipped" and not row.last_error)]  # skipped says why
    sms = {row.provider_message_id: row for row in outbox
           if row.status == "sent" and row.channel == "sms"}
    at_twilio = Counter(message.sid for message in twilio.sent)
    if set(at_twilio) != set(sms) or set(at_twilio.values()) - {1}:
        problems.append(f"SMS: {len(sms)} rows sent, {len(twilio.sent)} at the stand-in, "
                        f"{len(set(at_twilio) - set(sms))} unrecorded")
    for message in twilio.sent:
        row = sms.get(message.sid)
        if row is not None and (message.params.get("To"), message.params.get("Body")) != (
                row.phone, row.body):
            problems.append(f"SMS for outbox {row.id} went to another phone or said otherwise")
    telegram = Counter(row.provider_message_id for row in outbox
                       if row.status == "sent" and row.channel == "telegram")
    delivered = Counter(
        f"{chat}:{call.params.get('message_id') or call.params['_message_id']}"
        for chat, calls in standin.chat_calls.items() for call in calls[answers.get(chat, 0):])
    if telegram != delivered:
        problems.append(f"Telegram: {sum(telegram.values())} rows sent, "
                        f"{sum(delivered.values())} calls besides turn answers; "
                        f"{sum((delivered - telegram).values())} unrecorded or repeated, "
                        f"{sum((telegram - delivered).values())} never arrived")
    return problems


async def undelivered(conn: AsyncConnection) -> int:
    return len(await rows(conn, "SELECT id FROM outbox WHERE status IN ('pending', 'claimed')"))
