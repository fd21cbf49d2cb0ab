"""Node feature constraints (``--constraint``): ``a``, ``a&b``, ``a|b``, parentheses.

Slurm's brackets (``[a|b]``, "all nodes the same one of") are read as
parentheses; counts (``a*2``) are not supported and make the expression invalid.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np

from scheduler.core.nodes import Mask

_TOKEN = re.compile(r"\s*([A-Za-z0-9_.:+-]+|[&|()\[\]])")


class ConstraintError(ValueError):
    pass


def evaluate(expr: str, feature: Callable[[str], Mask], size: int) -> Mask:
    """The nodes whose features satisfy ``expr`` (all nodes for an empty expression)."""
    text = expr.strip()
    if not text:
        return np.ones(size, dtype=np.bool_)
    tokens = _tokenize(text)
    pos = 0

    def peek() -> str | None:
        return tokens[pos] if pos < len(tokens) else None

    def take() -> str:
        nonlocal pos
        tok = tokens[pos]
        pos += 1
        return tok

    def disjunction() -> Mask:
        left = conjunction()
        while peek() == "|":
            take()
            left = left | conjunction()
        return left

    def conjunction() -> Mask:
        left = atom()
        while peek() == "&":
            take()
            left = left & atom()
        return left

    def atom() -> Mask:
        tok = peek()
        if tok is None:
            raise ConstraintError("unexpected end")
        take()
        if tok in ("(", "["):
            inner = disjunction()
            if peek() not in (")", "]"):
                raise ConstraintError("unbalanced parenthesis")
            take()
            return inner
        if tok in ("&", "|", ")", "]"):
            raise ConstraintError(f"unexpected {tok!r}")
        return feature(tok)

    result = disjunction()
    if pos != len(tokens):
        raise ConstraintError(f"unexpected {tokens[pos]!r}")
    return result


def _tokenize(text: str) -> list[str]:
    tokens: list[str] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            if text[pos:].strip() == "":
                break
            raise ConstraintError(f"bad character {text[pos]!r}")
        tokens.append(m.group(1))
        pos = m.end()
    return tokens
