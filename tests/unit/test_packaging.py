"""pyproject.toml builds without setuptools' deprecation warnings and ships the package data."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_the_license_is_an_spdx_string_for_a_setuptools_that_reads_it():
    assert PROJECT["project"]["license"] == "MIT", "a TOML table is deprecated (setuptools 77)"
    [setuptools] = [r for r in PROJECT["build-system"]["requires"] if r.startswith("setuptools")]
    minimum = re.fullmatch(r"setuptools>=(\d+)", setuptools)
    assert minimum and int(minimum.group(1)) >= 77


def test_an_editable_install_needs_no_meta_path_finder():
    """With the root declared as the package directory, `pip install -e .` writes a .pth file
    and setuptools does not warn "Editable installation" (a BuildBackendWarning in pip)."""
    assert PROJECT["tool"]["setuptools"]["package-dir"] == {"": "."}
