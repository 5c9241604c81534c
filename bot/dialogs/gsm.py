"""The GSM-7 alphabet, and typographic characters written with it so an SMS can stay GSM-7.

A text in GSM-7 gets 160 characters per segment, 153 when concatenated; one character outside
it makes the whole text UCS-2 (70, 67). Babel puts no-break spaces in money and dates ("49,50
$CA"), translations use curly quotes and ellipses: :func:`to_gsm` writes those with plain
spaces, quotes, hyphens and dots. Letters are never changed ("ç", "á" stay, and make UCS-2).
"""

from __future__ import annotations

GSM7 = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà^{}\\[~]|€"
)
TYPOGRAPHIC = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u00ab": '"', "\u00bb": '"', "\u2033": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2212": "-",
    "\u2026": "...", "\u00a0": " ", "\u202f": " ", "\u2007": " ", "\u2009": " ", "\u2002": " ",
    "\u2003": " ", "\u200a": " ", "\u200b": "", "\u2060": "", "\ufeff": "",
})


def to_gsm(text: str) -> str:
    """``text`` with typographic characters (quotes, dashes, ellipsis, special spaces) written
    in GSM-7; every other character, letters above all, unchanged."""
    return text.translate(TYPOGRAPHIC)


def is_gsm7(text: str) -> bool:
    """True when ``text`` can be sent in the GSM-7 alphabet."""
    return set(text) <= GSM7
