"""The terminal channel: the same dialogs as SMS, on stdin/stdout.

Works interactively (a prompt, then the bot's replies) and with stdin as a pipe (one message per
line, for scripting). End the chat with Ctrl-D (end of input) or Ctrl-C.
"""

from __future__ import annotations

import asyncio
from typing import TextIO

from bot.dialogs.engine import Engine
from bot.dialogs.render import plain
from bot.dialogs.types import Inbound

CHANNEL = "terminal"


async def run_chat(engine: Engine, phone: str, stdin: TextIO, stdout: TextIO) -> None:
    """Chat as the patient with ``phone`` until the input ends."""
    interactive = stdin.isatty()

    async def exchange(text: str) -> None:
        outcome = await engine.handle(
            Inbound(channel=CHANNEL, address=phone, text=text, phone=phone)
        )
        for reply in outcome.replies:
            stdout.write(plain(reply) + "\n\n")
        stdout.flush()

    await exchange("")
    while True:
        if interactive:
            stdout.write("> ")
            stdout.flush()
        line = await asyncio.to_thread(stdin.readline)
        if not line:
            break
        text = line.rstrip("\n")
        if not interactive:
            stdout.write(f"> {text}\n")
        await exchange(text)
