"""My packages -> an insurance-friendly package -> Statement (issue 18, item 2): the SMS
summary counts the receipts and their total, still within 3 segments; on Telegram the PDF asked
of the channel is the statement, whose receipts table the CLI tests read back."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import update

from bot.dialogs.gsm import to_gsm
from bot.dialogs.render import plain
from bot.handlers.sms_text import segments
from bot.i18n import translator
from bot.services import arrivals, billing, packages, statements
from bot.storage.models import PackageTemplate
from tests.dialogs.chat import Chat
from tests.dialogs.conftest import MAYA
from tests.integration._builders import book, local, patient


async def _insured_with_two_sessions(make_uow, clock) -> int:
    async with make_uow() as uow:
        await uow.session.execute(
            update(PackageTemplate).where(PackageTemplate.key == "insurer-physio-6")
            .values(insurance_friendly=True))
        maya = await patient(uow, "maya")
        package = await packages.sell_package(uow, maya.id, "insurer-physio-6")
        (invoice,) = await packages.package_invoices(uow, package.id)
        await billing.record_payment(uow, invoice.id, Decimal("540.00"))
        visits = [await book(uow, "maya", local(2026, 11, 5, hour), package_id=package.id)
                  for hour in (9, 10)]
        await uow.commit()
    clock.set(local(2026, 11, 5, 17))
    async with make_uow() as uow:
        for visit in visits:
            await arrivals.arrive(uow, visit.id)
        await uow.commit()
    return package.id


async def test_on_sms_the_summary_counts_the_receipts(chat, make_uow, clock):
    await _insured_with_two_sessions(make_uow, clock)
    await chat.say("hi")
    await chat.choose("My packages")
    await chat.choose("Maya Chen (me)")
    await chat.choose("Insurer-friendly physio 6")
    reply = await chat.choose("Statement")
    assert reply.text.endswith(" 2 insurance receipts, $180.00 in all."), reply.text
    assert segments(to_gsm(plain(reply))) <= 3


@pytest.mark.parametrize(("locale", "hello", "statement", "ending"), [
    ("es", "hola", "Extracto", "2 recibos para el seguro, 180,00 CAD en total."),
    ("fr", "bonjour", "Relevé", "2 reçus : 180,00 $CA."),
])
async def test_the_receipts_line_speaks_the_patients_language(chat, make_uow, clock, locale,
                                                               hello, statement, ending):
    await _insured_with_two_sessions(make_uow, clock)
    async with make_uow() as uow:
        (await patient(uow, "maya")).locale = locale
        await uow.commit()
    await chat.say(hello)
    await chat.say("2")  # My packages
    await chat.say("1")  # for Maya
    await chat.choose("Insurer-friendly physio 6")
    reply = await chat.choose(statement)
    said = " ".join(reply.text.replace("\u00a0", " ").replace("\u202f", " ").split())
    assert said.endswith(ending), reply.text
    assert segments(to_gsm(plain(reply))) <= 3


async def test_on_telegram_the_pdf_statement_holds_the_receipts(bot_engine, make_uow, clock):
    package_id = await _insured_with_two_sessions(make_uow, clock)
    chat = Chat(bot_engine, channel="telegram", address="7001", phone=MAYA,
                telegram_user_id=7001)
    await chat.say("hi")
    await chat.choose("My packages")
    await chat.choose("Maya")
    await chat.choose("Insurer-friendly physio 6")
    await chat.press("Statement")
    [effect] = chat.outcome.effects
    assert effect.kind == "statement_pdf" and effect.params["package_id"] == package_id
    async with make_uow(readonly=True) as uow:
        found = await statements.package_statement(uow, package_id)
    doc = statements.document(found, translator("en_CA"))
    receipts_table = doc.tables[-1]
    assert receipts_table.title == "Receipts for insurance claims"
    assert [row[4] for row in receipts_table.rows] == ["$90.00", "$90.00", "$180.00"]
