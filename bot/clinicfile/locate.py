"""Line numbers for a TOML document's keys, which :mod:`tomllib` does not report.

:func:`locate` scans the text once (it has already parsed, so it is valid TOML) and maps every
path it meets to the line it starts on: a table ``("clinic",)``, an array-of-tables entry
``("fees", 2)`` (0-based, in file order), a key ``("fees", 2, "price")``, an array element
``("practitioners", 0, "hours", 1)`` and the keys of inline tables inside it
``("practitioners", 0, "hours", 1, "end")``. :func:`line_of` finds the closest known line for
any path, so a missing key points at its entry's header.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.clinicfile.errors import Loc

PUNCTUATION = "[]{},="
NEWLINE = "\n"


@dataclass(frozen=True)
class Token:
    kind: str  # one of PUNCTUATION, "nl", "word", "str"
    text: str
    line: int


def _string(text: str, pos: int, line: int) -> tuple[Token, int, int]:
    """The string starting at ``pos``: its token, the position after it, the line after it."""
    quote = text[pos]
    triple = text.startswith(quote * 3, pos)
    start = pos + (3 if triple else 1)
    end = start
    while end < len(text):
        char = text[end]
        if char == "\\" and quote == '"':
            end += 2
            continue
        if triple and text.startswith(quote * 3, end):
            while text.startswith(quote, end + 3):  # up to two quotes may end the content
                end += 1
            break
        if not triple and char == quote:
            break
        end += 1
    body = text[start:end]
    if quote == '"':
        body = body.replace('\\"', '"').replace("\\\\", "\\")
    after = end + (3 if triple else 1)
    return Token("str", body, line), after, line + text.count(NEWLINE, pos, after)


def tokenize(text: str) -> list[Token]:
    """Punctuation, words (bare keys and scalars), strings and newlines, with their lines."""
    tokens: list[Token] = []
    pos, line = 0, 1
    while pos < len(text):
        char = text[pos]
        if char == NEWLINE:
            tokens.append(Token("nl", char, line))
            line += 1
            pos += 1
        elif char in " \t\r":
            pos += 1
        elif char == "#":
            while pos < len(text) and text[pos] != NEWLINE:
                pos += 1
        elif char in PUNCTUATION:
            tokens.append(Token(char, char, line))
            pos += 1
        elif char in "\"'":
            token, pos, line = _string(text, pos, line)
            tokens.append(token)
        else:
            start = pos
            while pos < len(text) and text[pos] not in PUNCTUATION + "\"'# \t\r\n":
                pos += 1
            tokens.append(Token("word", text[start:pos], line))
    return tokens


class _Scanner:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.lines: dict[Loc, int] = {}

    def peek(self) -> Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def kind(self) -> str | None:
        token = self.peek()
        return token.kind if token else None

    def skip_newlines(self) -> None:
        while self.kind() == "nl":
            self.pos += 1

    def skip_line(self) -> None:
        while self.kind() not in (None, "nl"):
            self.pos += 1

    def key(self, stop: str) -> tuple[str, ...]:
        """A dotted key up to (and consuming) ``stop``."""
        parts: list[str] = []
        while self.kind() not in (None, stop, "nl"):
            token = self.tokens[self.pos]
            if token.kind == "str":
                parts.append(token.text)
            elif token.kind == "word":
                parts.extend(part for part in token.text.split(".") if part)
            self.pos += 1
        if self.kind() == stop:
            self.pos += 1
        return tuple(parts)

    def value(self, path: Loc) -> None:
        token = self.peek()
        if token is None:
            return
        if token.kind == "[":
            self.pos += 1
            index = 0
            while True:
                self.skip_newlines()
                item = self.peek()
                if item is None or item.kind == "]":
                    self.pos += 1
                    return
                self.lines.setdefault((*path, index), item.line)
                self.value((*path, index))
                self.skip_newlines()
                if self.kind() == ",":
                    self.pos += 1
                index += 1
        elif token.kind == "{":
            self.pos += 1
            while True:
                self.skip_newlines()
                item = self.peek()
                if item is None or item.kind == "}":
                    self.pos += 1
                    return
                if item.kind == ",":
                    self.pos += 1
                    continue
                key = self.key("=")
                self.lines.setdefault((*path, *key), item.line)
                self.value((*path, *key))
        else:
            while self.kind() not in (None, ",", "]", "}", "nl"):
                self.pos += 1

    def document(self) -> dict[Loc, int]:
        prefix: Loc = ()
        counts: dict[Loc, int] = {}
        while (token := self.peek()) is not None:
            if token.kind == "nl":
                self.pos += 1
                continue
            if token.kind == "[":
                self.pos += 1
                if self.kind() == "[":
                    self.pos += 1
                    name = self.key("]")
                    counts[name] = counts.get(name, -1) + 1
                    self.lines.setdefault(name, token.line)
                    prefix = (*name, counts[name])
                else:
                    prefix = self.key("]")
                self.lines.setdefault(prefix, token.line)
            else:
                key = self.key("=")
                self.lines.setdefault((*prefix, *key), token.line)
                self.value((*prefix, *key))
            self.skip_line()
        return self.lines


def locate(text: str) -> dict[Loc, int]:
    """Every table, entry, key and array element of ``text`` mapped to its first line."""
    return _Scanner(tokenize(text)).document()


def line_of(lines: dict[Loc, int], loc: Loc) -> int | None:
    """The line of ``loc``, or of its nearest enclosing path that the file spells out."""
    for end in range(len(loc), 0, -1):
        line = lines.get(loc[:end])
        if line is not None:
            return line
    return None
