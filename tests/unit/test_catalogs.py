"""The translations are complete and compiled: a missing or stale translation fails here.

* every string the code marks for translation is in ``bot/locales/messages.pot``;
* every language we ship (es, fr) translates every message, plural forms included, keeps the
  ``{placeholders}`` of the original, and has nothing fuzzy;
* the committed ``.mo`` files hold exactly what their ``.po`` files say, and the package data
  of ``pyproject.toml`` ships them (``pip install .`` without them would fall back to English).
Run ``python3 dev.py translations`` to bring them up to date.
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
import tomllib
from pathlib import Path, PurePosixPath

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
LOCALES = ROOT / "bot" / "locales"
TRANSLATED = ("es", "fr")
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _ids(catalog) -> set[object]:
    return {message.id for message in catalog if message.id}


def _key(value: object) -> object:
    """Plural ids and strings come back as lists from .mo files and tuples from .po files."""
    return tuple(value) if isinstance(value, list | tuple) else value


def _po(language: str):
    with (LOCALES / language / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=language)


def test_the_template_holds_every_string_in_the_code(tmp_path: Path) -> None:
    fresh = tmp_path / "fresh.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg",
         "-k", "ngettext:1,2", "--no-location", "--sort-output", "--omit-header",
         "-o", str(fresh), "bot"],
        cwd=ROOT, check=True, capture_output=True,
    )
    with fresh.open("rb") as a, (LOCALES / "messages.pot").open("rb") as b:
        missing = _ids(read_po(a)) - _ids(read_po(b))
    assert not missing, f"run 'python3 dev.py translations'; not in messages.pot: {missing}"


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_message_is_translated_with_its_placeholders(language: str) -> None:
    with (LOCALES / "messages.pot").open("rb") as handle:
        wanted = _ids(read_po(handle))
    catalog = _po(language)
    assert wanted <= _ids(catalog), f"{language}: not merged: {wanted - _ids(catalog)}"
    for message in catalog:
        if not message.id:
            continue
        assert not message.fuzzy, f"{language}: fuzzy: {message.id!r}"
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(strings), f"{language}: untranslated: {message.id!r}"
        expected = set(PLACEHOLDER.findall(ids[-1]))
        for text in strings:
            assert set(PLACEHOLDER.findall(text)) <= expected | {"n"}, (language, message.id)
            assert expected - {"n"} <= set(PLACEHOLDER.findall(text)), (language, message.id)


@pytest.mark.parametrize("language", TRANSLATED)
def test_the_compiled_catalogs_are_up_to_date(language: str) -> None:
    mo_path = LOCALES / language / "LC_MESSAGES" / "messages.mo"
    assert mo_path.exists(), "run 'python3 dev.py translations' to compile the catalogs"
    compiled = read_mo(io.BytesIO(mo_path.read_bytes()))
    source = _po(language)
    expected = {_key(m.id): _key(m.string) for m in source if m.id}
    actual = {_key(m.id): _key(m.string) for m in compiled if m.id}
    assert actual == expected, "the .mo is stale: run 'python3 dev.py translations'"


@pytest.mark.parametrize("language", TRANSLATED)
def test_the_compiled_catalogs_are_package_data(language):
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = project["tool"]["setuptools"]["package-data"]["bot"]
    compiled = PurePosixPath("locales", language, "LC_MESSAGES", "messages.mo")
    assert any(compiled.match(pattern) for pattern in patterns), patterns
    assert (ROOT / "bot" / compiled).is_file()
