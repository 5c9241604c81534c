"""Reading a set-up file: TOML syntax, then the schema, then cross-checks, each problem located.

Nothing here touches the database; :func:`bot.services.setup.load_clinic` writes a spec that
passed all of this.
"""

from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from bot.clinicfile.checks import check
from bot.clinicfile.errors import ClinicFileError, Loc, Located, Problem
from bot.clinicfile.fields import shown
from bot.clinicfile.locate import line_of, locate
from bot.clinicfile.messages import describe
from bot.clinicfile.schema import ClinicSpec

MAX_FILE_BYTES = 5_000_000


def _entry_label(section: str, index: int, raw: dict[str, Any]) -> str:
    entries = raw.get(section)
    entry = entries[index] if isinstance(entries, list) and index < len(entries) else None
    key = entry.get("key") if isinstance(entry, dict) else None
    if isinstance(key, str):
        return f"[[{section}]] {shown(key)}"
    return f"[[{section}]] entry {index + 1}"


def where(loc: Loc, raw: dict[str, Any]) -> str:
    """Where ``loc`` is, in the file's words: ``[[fees]] "massage-60": key "price"``."""
    if not loc:
        return ""
    section = str(loc[0])
    value = raw.get(section)
    rest = loc[1:]
    if rest and isinstance(rest[0], int) and isinstance(value, list):
        label, rest = _entry_label(section, rest[0], raw), rest[1:]
    elif isinstance(value, dict):
        label = f"[{section}]"
    elif isinstance(value, list):
        label = f"[[{section}]]"
    else:
        return f'key "{section}"' if section in raw else f"[{section}]"
    parts = [label + (":" if rest else "")]
    for position, part in enumerate(rest):
        if isinstance(part, int):
            parts.append(f"entry {part + 1}")
        else:
            parts.append(f'key "{part}"' if position == 0 else f'"{part}"')
    return parts[0] + (" " + ", ".join(parts[1:]) if len(parts) > 1 else "")


def _place(problems: list[Problem], text: str, source: str, raw: dict[str, Any]) -> list[Located]:
    lines = locate(text)
    located = [
        Located(
            source,
            line_of(lines, problem.at or problem.loc),
            where(problem.loc, raw),
            problem.message,
        )
        for problem in problems
    ]
    order = {id(item): position for position, item in enumerate(located)}
    return sorted(located, key=lambda item: (item.line or 0, order[id(item)]))


def parse_clinic_text(text: str, source: str) -> ClinicSpec:
    """Parse and validate a set-up file's text; raise :class:`ClinicFileError` if it is bad."""
    try:
        return _parse(text, source)
    except RecursionError:
        raise ClinicFileError([Located(
            source, None, "", "lists or tables are nested too deeply to read; a set-up file "
            "nests them at most a few levels (see clinic.example.toml)",
        )]) from None


def _parse(text: str, source: str) -> ClinicSpec:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ClinicFileError([_syntax(exc, source)]) from None
    except ValueError:  # tomllib's only other error: an integer of over 4300 digits
        raise ClinicFileError([Located(
            source, None, "", "a number has thousands of digits; no value here is that large"
        )]) from None
    try:
        spec = ClinicSpec.model_validate(raw)
    except ValidationError as exc:
        problems = [describe(error) for error in exc.errors()]
        raise ClinicFileError(_place(problems, text, source, raw)) from None
    problems = check(spec)
    if problems:
        raise ClinicFileError(_place(problems, text, source, raw))
    return spec


def _syntax(exc: tomllib.TOMLDecodeError, source: str) -> Located:
    # tomllib's message ends with "(at line L, column C)"; lift the line to the front.
    message = str(exc)
    line = None
    if "(at line " in message:
        head, _, tail = message.rpartition(" (at line ")
        number, _, column = tail.rstrip(")").partition(", column ")
        if number.isdecimal():
            line = int(number)
            message = f"{head} (column {column})" if column else head
    elif message.endswith("(at end of document)"):
        message = message.replace(" (at end of document)", " at the end of the file")
    return Located(source, line, "", f"not valid TOML: {message}; fix the syntax on this line")


def read_clinic_file(path: Path) -> ClinicSpec:
    """Read and validate the set-up file at ``path`` (UTF-8); raise :class:`ClinicFileError`."""
    source = str(path)
    try:
        data = _read_bounded(path)
    except FileNotFoundError:
        raise ClinicFileError([Located(source, None, "", "no such file; check the path")]) from None
    except IsADirectoryError:
        raise ClinicFileError(
            [Located(source, None, "", "is a directory; give the path of a .toml file")]
        ) from None
    except OSError as exc:
        raise ClinicFileError(
            [Located(source, None, "", f"cannot be read: {exc.strerror or exc}")]
        ) from None
    if data is None:
        raise ClinicFileError(
            [Located(source, None, "", "is not a regular file; give the path of a .toml file")]
        )
    if len(data) > MAX_FILE_BYTES:
        raise ClinicFileError([Located(
            source, None, "", f"is larger than {MAX_FILE_BYTES // 1_000_000} MB; a set-up file "
            "is text of a few kB (see clinic.example.toml)",
        )])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ClinicFileError(
            [Located(source, None, "", f"is not UTF-8 text ({exc.reason}); save it as UTF-8")]
        ) from None
    return parse_clinic_text(text, source)


def _read_bounded(path: Path) -> bytes | None:
    """At most ``MAX_FILE_BYTES + 1`` bytes of ``path``; None when it is no regular file.

    The file is opened without blocking (a FIFO would wait for a writer) and checked on the
    open descriptor, so a pipe or a device such as /dev/zero is refused, not read forever.
    """
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(descriptor, "rb") as file:
        if stat.S_ISDIR(os.fstat(file.fileno()).st_mode):
            raise IsADirectoryError(path)
        if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
            return None
        return file.read(MAX_FILE_BYTES + 1)
