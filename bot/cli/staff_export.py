"""``clinicbot staff export PATIENT --out FILE [--include-wards] [--force]`` (issue 21).

Everything held about one patient (:mod:`bot.services.patient_export`) written as JSON to FILE,
and its readable copy (:mod:`bot.services.export_html`, in the patient's language) beside it:
FILE with ``.html`` for its suffix (``maya.json`` -> ``maya.html``; ``maya`` -> ``maya.html``).
Both files are written whole or not at all: each goes to a temporary file in the same
directory, readable by its owner only (health data), and is renamed into place once both are
complete. An existing file is not replaced without ``--force``. The export is recorded in the
audit log (who, which patient; never the data), in the same transaction, committed only once
the files are in place.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path

import click

from bot.cli.common import Context, fail, run
from bot.cli.staff_common import acting_desk, who_text
from bot.i18n import translator
from bot.services import export_html, patient_export
from bot.services.clinic import get_clinic
from bot.services.lookup import find_patient


def readable_path(out: Path) -> Path:
    """Where the readable copy of ``out`` goes: the same name with ``.html``."""
    return out.with_suffix(".html")


def _check(paths: list[Path], force: bool) -> None:
    """Refuse, before anything is read, what would fail or overwrite without ``--force``."""
    for path in paths:
        if path.is_dir():
            fail(f"{str(path)!r} is a directory; give a file name, e.g. {path / 'export.json'}")
        if path.exists() and not force:
            fail(f"{str(path)!r} exists already; give another name, or --force to replace it")
        parent = path.parent
        if not parent.is_dir():
            fail(f"cannot write {str(path)!r}: the directory {str(parent)!r} does not exist")
        if not os.access(parent, os.W_OK | os.X_OK):
            fail(f"cannot write {str(path)!r}: this user may not write in {str(parent)!r}")


def write_atomically(files: dict[Path, str]) -> None:
    """Write each file's text to a temporary file beside it, then rename them all into
    place; on any failure nothing is left behind (OSError is raised)."""
    temporary: dict[Path, str] = {}
    try:
        for path, text in files.items():
            handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                                            suffix=".part")
            temporary[path] = name
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(text)
                out.flush()
                os.fsync(out.fileno())
        for path, name in temporary.items():
            os.replace(name, path)
    finally:
        for name in temporary.values():
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name)


@click.command("export")
@click.argument("patient")
@click.option("--out", "out", metavar="FILE", required=True,
              type=click.Path(path_type=Path),
              help="The JSON file to write; the readable copy goes beside it as FILE.html.")
@click.option("--include-wards", is_flag=True,
              help="Also the full data of the family members PATIENT manages (by default only "
                   "their ids and names).")
@click.option("--force", is_flag=True, help="Replace FILE (and its .html) if they exist.")
def export(patient: str, out: Path, include_wards: bool, force: bool) -> None:
    """Write everything held about PATIENT (id, key or +phone) to FILE as JSON, with a
    readable copy beside it (FILE.html): profile, family links, channels, consents,
    appointments, packages and every use, invoices, payments, credit, memberships, waitlist,
    invitations, messages and the staff actions on the profile. The shape is described in
    docs/patient-export.md. Recorded in the audit log.

    \b
    Examples:
      clinicbot staff export maya --out maya.json
      clinicbot staff export +14165550101 --out maya.json --include-wards --force
    """
    if out.suffix.lower() in (".html", ".htm"):
        fail(f"{str(out)!r} is the JSON file's name; give e.g. {out.with_suffix('.json')} "
             "(the readable copy goes beside it as .html)")
    html_out = readable_path(out)
    _check([out, html_out], force)

    async def work(ctx: Context) -> str:
        async with ctx.uow() as uow:
            actor = await acting_desk().actor(uow)
            found = await find_patient(uow, patient)
            doc = await patient_export.export(uow, found.id, include_wards=include_wards)
            clinic = await get_clinic(uow)
            readable = export_html.render(doc, translator(found.locale or clinic.locale))
            await patient_export.record(uow, found.id, actor, include_wards=include_wards)
            try:
                write_atomically({out: json.dumps(doc, ensure_ascii=False, indent=2) + "\n",
                                  html_out: readable})
            except OSError as exc:
                fail(f"cannot write {str(out)!r}: {exc.strerror or exc}; nothing was written")
            await uow.commit()
            wards = " with their wards' data" if include_wards else ""
            return f"Exported {who_text(found)}{wards} to {out} (readable copy: {html_out})."

    click.echo(run(work))


COMMANDS = [export]
