"""Slurm hostlist expressions (``node[01-16]``, ``a[1-2]b[3-4]``), typed.

A thin wrapper over the ``python-hostlist`` package: it implements Slurm's
syntax (zero-padded ranges, nested brackets, comma lists) and Slurm's sort
order when compressing (prefix, then numeric suffix).
"""

from __future__ import annotations

from collections.abc import Iterable

import hostlist as _hl


class HostlistError(ValueError):
    """A hostlist expression that cannot be expanded; the message names it."""


def expand(expr: str) -> list[str]:
    """``"n[1-2,5]"`` → ``["n1", "n2", "n5"]``; order as written, duplicates dropped.

    An empty or blank expression is the empty list.
    """
    text = expr.strip()
    if not text:
        return []
    try:
        names: list[str] = _hl.expand_hostlist(text)
    except _hl.BadHostlist as exc:
        raise HostlistError(f"invalid hostlist expression {expr!r}: {exc}") from None
    if any(not n or any(c.isspace() or c in "[]" for c in n) for n in names):
        raise HostlistError(f"invalid hostlist expression {expr!r}")
    return names


def compress(names: Iterable[str]) -> str:
    """``["n3", "n1", "n4"]`` → ``"n[1,3-4]"``, sorted as Slurm sorts; "" for none."""
    unique = sorted({n.strip() for n in names if n.strip()})
    if not unique:
        return ""
    try:
        return str(_hl.collect_hostlist(unique))
    except _hl.BadHostlist as exc:
        raise HostlistError(f"invalid host names {','.join(unique)!r}: {exc}") from None
