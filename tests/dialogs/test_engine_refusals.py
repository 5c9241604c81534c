"""A rule's refusal keeps nothing the step wrote, with or without a savepoint (engine module doc).

A probe dialog is put in the engine next to the real ones; each of its steps does something,
then a rule refuses (``NotAllowed``). The patient is told and asked again; the database keeps
nothing of the refused step, whether it had written (a flush or a statement) or not.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from bot.dialogs.base import Answer, Dialog, DialogContext, Result
from bot.dialogs.engine import Engine, EngineConfig
from bot.dialogs.registry import build_dialogs
from bot.dialogs.types import Reply
from bot.services.errors import NotAllowed
from bot.storage.models import Conversation, Patient
from tests.dialogs.chat import Chat
from tests.dialogs.conftest import MAYA
from tests.statements import statements

REFUSED = "Sorry, that is not possible from this account."


class Probe(Dialog):
    """Steps that read, change (pending), flush, or run an UPDATE, then are refused."""

    name = "probe"
    first_step = "start"

    def __init__(self) -> None:
        self.attempts: list[str] = []

    async def ask_start(self, ctx: DialogContext) -> Reply:
        return Reply("Probe: say read, change, flush or update.")

    async def on_start(self, ctx: DialogContext, answer: Answer) -> Result:
        self.attempts.append(answer.text)
        ctx.data["seen"] = answer.text  # the step's own note in the conversation
        assert ctx.account is not None
        account = await ctx.uow.session.get(Patient, ctx.account.id)
        assert account is not None
        if answer.text in ("change", "flush"):
            account.first_name = "Changed"
        if answer.text == "flush":
            await ctx.uow.session.flush()
        if answer.text == "update":
            await ctx.uow.session.execute(
                update(Patient).where(Patient.id == account.id).values(last_name="Updated"))
        raise NotAllowed("the probe refuses")


@pytest.fixture
def probe() -> Probe:
    return Probe()


@pytest.fixture
async def probing(clinic, engine, clock, make_uow, probe) -> Chat:
    """Maya's conversation, standing at the probe's first step."""
    dialogs = {**build_dialogs(), probe.name: probe}
    chat = Chat(Engine(engine, clock, dialogs, EngineConfig()), address=MAYA, phone=MAYA)
    await chat.say("hola")
    async with make_uow() as uow:
        await uow.session.execute(
            update(Conversation).where(Conversation.address == MAYA)
            .values(dialog="probe", step="start"))
        await uow.commit()
    return chat


async def maya(make_uow) -> tuple[str, str]:
    async with make_uow() as uow:
        row = (await uow.session.execute(
            select(Patient.first_name, Patient.last_name).where(Patient.phone == MAYA))).one()
        return row.first_name, row.last_name


@pytest.mark.parametrize("what", ["change", "flush", "update"])
async def test_a_refused_step_that_wrote_keeps_nothing(probing, probe, make_uow, what):
    before = await maya(make_uow)
    reply = await probing.say(what)
    assert reply.text.startswith(REFUSED) and "Probe:" in reply.text
    assert probe.attempts == [what, what]  # wrote, so run again inside a savepoint
    assert await maya(make_uow) == before
    reply = await probing.say("read")  # still at the probe's step, nothing lost
    assert reply.text.startswith(REFUSED)


async def test_a_refused_step_that_only_read_runs_once_without_a_savepoint(
    probing, probe, engine
):
    with statements(engine) as seen:
        reply = await probing.say("read")
    assert reply.text.startswith(REFUSED) and "Probe:" in reply.text
    assert probe.attempts == ["read"]
    run = [s.lstrip().upper() for s in seen]
    assert not [s for s in run if s.startswith(("SAVEPOINT", "RELEASE", "ROLLBACK TO"))]
