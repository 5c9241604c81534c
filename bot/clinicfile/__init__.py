"""The clinic set-up file (``clinicbot load FILE.toml``): its schema, reading and validation.

:func:`read_clinic_file` / :func:`parse_clinic_text` turn a TOML file into a validated
:class:`ClinicSpec` or raise :class:`ClinicFileError`, whose message names the file, line,
section, key, what is wrong and what to write instead. The schema is the one of
``clinic.example.toml``, shipped in this package (:mod:`bot.clinicfile.example`; ``clinicbot
init`` writes it; a copy of the project spec's, see INTERFACES.md for the command's promises);
:mod:`bot.services.setup` writes a spec into the database.
"""

from __future__ import annotations

from bot.clinicfile.errors import ClinicFileError, Located
from bot.clinicfile.reader import parse_clinic_text, read_clinic_file
from bot.clinicfile.schema import ClinicSpec

__all__ = ["ClinicFileError", "ClinicSpec", "Located", "parse_clinic_text", "read_clinic_file"]
