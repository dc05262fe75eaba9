"""IoT Hub target conditions, the subset deployments use, evaluated against a device's tags.

Grammar: `tags.a.b = 'x'`, `!=` (or `<>`), values as 'strings', numbers, true/false/null, combined with
AND, OR, NOT and parentheses (NOT binds tightest, then AND, then OR, as in the IoT Hub query
language). A tag the device does not have compares unequal to everything (`!=` is true), as IoT
Hub treats an undefined property. Anything else is a `ConditionError` naming the position.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>-?\d+(?:\.\d+)?)|(?P<op>!=|<>|=|\(|\))"
    r"|(?P<word>[A-Za-z_$][A-Za-z0-9_.$-]*))"
)
_MISSING = object()


class ConditionError(ValueError):
    pass


@dataclass(frozen=True)
class _Tok:
    kind: str  # str | num | op | word | end
    text: str
    pos: int


def _tokens(text: str) -> list[_Tok]:
    out, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            at = len(text) - len(text[pos:].lstrip())
            raise ConditionError(f"unexpected {text[at:].strip()[:10]!r} at character {at + 1} of {text!r}")
        kind = m.lastgroup or ""
        out.append(_Tok(kind, m.group(kind), m.start(kind)))
        pos = m.end()
    out.append(_Tok("end", "", len(text)))
    return out


class _Parser:
    def __init__(self, text: str, tags: dict[str, Any]) -> None:
        self.text, self.toks, self.i, self.tags = text, _tokens(text), 0, tags

    def peek(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def keyword(self, word: str) -> bool:
        tok = self.peek()
        if tok.kind == "word" and tok.text.upper() == word:
            self.i += 1
            return True
        return False

    def fail(self, expected: str) -> ConditionError:
        tok = self.peek()
        got = repr(tok.text) if tok.kind != "end" else "the end"
        return ConditionError(f"expected {expected} at character {tok.pos + 1} of {self.text!r}, found {got}")

    def parse(self) -> bool:
        value = self.or_()
        if self.peek().kind != "end":
            raise self.fail("AND, OR or the end")
        return value

    def or_(self) -> bool:
        value = self.and_()
        while self.keyword("OR"):
            right = self.and_()
            value = value or right
        return value

    def and_(self) -> bool:
        value = self.not_()
        while self.keyword("AND"):
            right = self.not_()
            value = value and right
        return value

    def not_(self) -> bool:
        if self.keyword("NOT"):
            return not self.not_()
        if self.peek().text == "(":
            self.take()
            value = self.or_()
            if self.take().text != ")":
                self.i -= 1
                raise self.fail("')'")
            return value
        return self.comparison()

    def comparison(self) -> bool:
        tok = self.take()
        if tok.kind != "word" or not tok.text.startswith("tags.") or tok.text.upper() in ("AND", "OR", "NOT"):
            self.i -= 1
            raise self.fail("a tag (tags.NAME), NOT or '('")
        op = self.take()
        if op.text not in ("=", "!=", "<>"):
            self.i -= 1
            raise self.fail("= or !=")
        value = self.literal()
        have = self.tags.get(tok.text[len("tags.") :], _MISSING)
        equal = have is not _MISSING and _same(have, value)
        return equal if op.text == "=" else not equal

    def literal(self) -> Any:
        tok = self.take()
        if tok.kind == "str":
            return tok.text[1:-1].replace("''", "'")
        if tok.kind == "num":
            return float(tok.text) if "." in tok.text else int(tok.text)
        if tok.kind == "word" and tok.text.lower() in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[tok.text.lower()]
        self.i -= 1
        raise self.fail("a value ('text', a number, true, false or null)")


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return a == b


def evaluate(condition: str, tags: dict[str, Any]) -> bool:
    """Whether a device with these tags (`site` → 'factory-1'; dotted names for nested tags) matches."""
    return _Parser(condition, tags).parse()


def parse_tag(text: str) -> tuple[str, Any]:
    """`k=v` from the command line: true/false/null and numbers as such, anything else a string."""
    key, sep, raw = text.partition("=")
    if not sep or not key:
        raise ConditionError(f"device tag {text!r}: use NAME=VALUE, e.g. site=factory-1")
    lowered = raw.lower()
    if lowered in ("true", "false", "null"):
        return key, {"true": True, "false": False, "null": None}[lowered]
    if re.fullmatch(r"-?\d+", raw):
        return key, int(raw)
    if re.fullmatch(r"-?\d+\.\d+", raw):
        return key, float(raw)
    return key, raw
