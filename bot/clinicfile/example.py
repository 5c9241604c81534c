"""The commented example set-up file, shipped in the package (``clinicbot init`` writes it).

``bot/clinicfile/clinic.example.toml`` is package data, identical to the project spec's
example (a test compares them): the schema of every section and key, with comments.
"""

from __future__ import annotations

from importlib import resources

EXAMPLE_NAME = "clinic.example.toml"
INIT_HINT = "'clinicbot init clinic.example.toml' writes a commented example"


def example_text() -> str:
    """The example set-up file's text."""
    return resources.files(__package__).joinpath(EXAMPLE_NAME).read_text(encoding="utf-8")
