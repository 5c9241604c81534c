"""A package's statement on Telegram, through the real server and the Bot API stand-in: My
packages -> the package -> Statement sends the PDF with ``sendDocument`` (issue 18, item 1).
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator

import pytest
from pypdf import PdfReader

from tests.e2e.telegram_harness import Telegram, TgUser, telegram_server

MAYA_USER = 7001


@pytest.fixture
async def tg(clinic: None, database_url: str, clock) -> AsyncIterator[Telegram]:
    async with telegram_server(database_url, clock, mode="webhook") as player:
        yield player


async def test_the_statement_arrives_as_a_pdf_document(tg):
    maya = TgUser(tg, MAYA_USER, "Maya")
    await maya.say("/start")
    await maya.share_contact("+14165550101")
    await maya.press("My packages")
    await maya.press("Maya")
    await maya.press("Physio 5-pack")
    said = await maya.press("Statement")
    assert "Here is the statement of Physio 5-pack as a PDF file." in said
    [sent] = tg.standin.of("sendDocument")
    assert sent.chat_id == MAYA_USER
    document = sent.params["document"]
    assert document["filename"].startswith("statement-package-")
    assert document["filename"].endswith(".pdf")
    assert "Physio 5-pack: paid $400.00 of $400.00" in sent.params["caption"]
    pages = PdfReader(io.BytesIO(document["content"])).pages
    text = " ".join(" ".join(page.extract_text() for page in pages).split())
    for part in ("Harbour Physio & Wellness", "Package statement", "Maya Chen", "$400.00",
                 "Sessions covered", "before import"):
        assert part in text, (part, text)
