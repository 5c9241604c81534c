"""The example set-up file ships in the package, identical to the project spec's."""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

import pytest

from bot.clinicfile import read_clinic_file
from bot.clinicfile.example import EXAMPLE_NAME, example_text
from tests.conftest import EXAMPLE_FILE

ROOT = Path(__file__).resolve().parents[2]
SPEC_EXAMPLE = ROOT.parent / "shared" / "spec" / "clinic.example.toml"


@pytest.mark.skipif(not SPEC_EXAMPLE.exists(), reason="../shared is not beside this checkout")
def test_the_shipped_example_is_the_specs_byte_for_byte():
    assert EXAMPLE_FILE.read_bytes() == SPEC_EXAMPLE.read_bytes(), (
        "copy ../shared/spec/clinic.example.toml to bot/clinicfile/clinic.example.toml")


def test_the_tests_use_the_shipped_example_and_it_is_valid():
    assert EXAMPLE_FILE == ROOT / "bot" / "clinicfile" / EXAMPLE_NAME
    assert example_text() == EXAMPLE_FILE.read_text(encoding="utf-8")
    assert read_clinic_file(EXAMPLE_FILE).clinic.name


def test_the_example_is_package_data():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = project["tool"]["setuptools"]["package-data"]["bot"]
    assert any(fnmatch.fnmatch(f"clinicfile/{EXAMPLE_NAME}", p) for p in patterns)
