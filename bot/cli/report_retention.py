"""``clinicbot report retention``: what the clinic keeps under the set-up file's
``[retention]`` (issue 21), how many of each are held now, the oldest, and until when it stays
(:mod:`bot.services.retention`), as an aligned table or as CSV. Moments in the clinic's time.
"""

from __future__ import annotations

from datetime import datetime

import click

from bot.cli.common import Context, run
from bot.cli.output import Cell
from bot.cli.report import _table
from bot.cli.staff_common import echo
from bot.services import retention
from bot.services.clinic import get_clinic, zone


@click.command("retention")
@click.option("--format", "fmt", type=click.Choice(["table", "csv"]), default="table",
              show_default=True, help="An aligned table, or CSV.")
def retention_report(fmt: str) -> None:
    """What is kept and until when: message texts, ids of messages received, answers, the
    audit log; for each, how long it is kept, how many are held, the oldest held and when
    that one goes (the retention sweep blanks or deletes it then).

    \b
    Example:
      clinicbot report retention
    """

    async def work(ctx: Context) -> list[str]:
        async with ctx.uow(readonly=True) as uow:
            tz = zone(await get_clinic(uow))
            kept = await retention.kept(uow)

        def local(moment: datetime | None) -> Cell:
            return None if moment is None else moment.astimezone(tz).strftime("%Y-%m-%d %H:%M")

        rows: list[list[Cell]] = [
            [row.what, row.kept_for, row.held, local(row.oldest), local(row.until)]
            for row in kept
        ]
        headers = ["record", "kept for", "held", "oldest", "oldest kept until"]
        return _table("Retention ([retention] in the set-up file):", headers, rows, fmt)

    echo(run(work))
