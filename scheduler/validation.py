"""Parsers and checks for job-description fields the controller validates itself.

Pure functions (no ORM): array specs, dependency expressions, gres requests,
constraint expressions. Each raises ValueError with a short reason; the submit
action turns that into Slurm's error.
"""

from __future__ import annotations

import re
import unicodedata

from drover.jobopts import parse_array_spec

#: The largest value a job's integer field may take: what its column holds (a datetime,
#: for ``begin_time``: 9999-12-31T23:59:59Z); the others are 32-bit columns.
INT32_MAX = 2**31 - 1
INT_MAX = {"mem_per_node_mb": 2**63 - 1, "mem_per_cpu_mb": 2**63 - 1,
           "begin_time": 253402300799}


def in_range(key: str, value: int) -> bool:
    """Whether field ``key`` can store ``value``."""
    return abs(value) <= INT_MAX.get(key, INT32_MAX)


_CONTROL_NAMES = {"\n": "a newline", "\r": "a carriage return", "\t": "a tab"}


def check_job_name(name: str) -> None:
    """A job name is one line of squeue and sacct (and ``%x`` of a file name): no
    control characters nor line breaks."""
    bad = next((c for c in name if unicodedata.category(c) in ("Cc", "Zl", "Zp")), None)
    if bad is not None:
        what = _CONTROL_NAMES.get(bad, f"the unprintable character U+{ord(bad):04X}")
        raise ValueError(f"job name contains {what}")


DEPENDENCY_TYPES = ("after", "afterany", "afterok", "afternotok", "aftercorr",
                    "afterburstbuffer")
_DEP_ID = re.compile(r"^\d+(_\d+)?(\+\d+)?$")
_GRES_ITEM = re.compile(r"^(?:gres[:/])?([A-Za-z][\w.-]*)(?::([A-Za-z][\w.-]*))?(?::(\d+))?$")


def parse_array(spec: str, max_array_size: int) -> tuple[list[int], int | None]:
    """``0-99%10``, ``1,3,5``, ``0-10:2`` -> (sorted unique task ids, throttle or None).

    The syntax is sbatch's (drover.jobopts); task ids must also be below
    MaxArraySize, as in Slurm.
    """
    parsed = parse_array_spec(spec)
    ids = parsed.ids()
    if not ids:
        raise ValueError("empty array")
    if ids[-1] >= max_array_size:
        raise ValueError(f"task id {ids[-1]} is not below MaxArraySize={max_array_size}")
    return ids, parsed.throttle


def compress_ids(ids: list[int]) -> str:
    """[0, 1, 2, 5, 7, 8] -> "0-2,5,7-8" (the form kept in Job.array_pending)."""
    out: list[str] = []
    values = sorted(set(ids))
    i = 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and values[j + 1] == values[j] + 1:
            j += 1
        out.append(str(values[i]) if i == j else f"{values[i]}-{values[j]}")
        i = j + 1
    return ",".join(out)


def expand_ids(text: str) -> list[int]:
    """"0-2,5" -> [0, 1, 2, 5]; also accepts ``a-b:step``; "" -> []."""
    if not text.strip():
        return []
    ids, _ = parse_array(text, max_array_size=2**31)
    return ids


def check_dependency(spec: str) -> None:
    """Slurm's dependency syntax: items joined by ``,`` (all) or ``?`` (any), not both.

    An item is ``singleton`` or ``type:id[+minutes][:id...]`` with a known type.
    Ids that do not exist are accepted (Slurm 22.05 accepts afterok:999999).
    """
    text = spec.strip()
    if not text:
        return
    if "," in text and "?" in text:
        raise ValueError("cannot mix ',' and '?'")
    for item in re.split(r"[,?]", text):
        if item == "singleton":
            continue
        kind, sep, rest = item.partition(":")
        if kind not in DEPENDENCY_TYPES or not sep or not rest:
            raise ValueError(f"bad dependency {item!r}")
        for job_id in rest.split(":"):
            if not _DEP_ID.match(job_id):
                raise ValueError(f"bad job id {job_id!r} in {item!r}")


def parse_gres(spec: str) -> list[tuple[str, str | None, int]]:
    """``gpu:2,gpu:a100:1,shard`` -> [("gpu", None, 2), ("gpu", "a100", 1), ("shard", None, 1)]."""
    out: list[tuple[str, str | None, int]] = []
    for item in filter(None, (s.strip() for s in spec.split(","))):
        m = _GRES_ITEM.match(item)
        if not m:
            raise ValueError(f"bad gres {item!r}")
        name, typ, count = m.group(1), m.group(2), m.group(3)
        n = int(count) if count is not None else 1
        if n < 1:
            raise ValueError(f"bad gres count in {item!r}")
        out.append((name, typ, n))
    return out


def node_gres(spec: str) -> dict[tuple[str, str | None], int]:
    """A node's Gres= value -> {(name, type): count}; ``gpu:a100:4(S:0-1)`` allowed."""
    out: dict[tuple[str, str | None], int] = {}
    for item in filter(None, (s.strip() for s in spec.split(","))):
        item = re.sub(r"\(.*\)$", "", item)
        parts = item.split(":")
        name = parts[0]
        typ: str | None = None
        count = 1
        if len(parts) == 2:
            if parts[1].isdigit():
                count = int(parts[1])
            else:
                typ = parts[1]
        elif len(parts) >= 3:
            typ = parts[1]
            count = int(parts[2]) if parts[2].isdigit() else 1
        out[(name, typ)] = out.get((name, typ), 0) + count
    return out


def gres_fits(request: list[tuple[str, str | None, int]],
              available: dict[tuple[str, str | None], int]) -> bool:
    """Whether one node with ``available`` gres could ever hold ``request``."""
    for name, typ, count in request:
        have = sum(c for (n, t), c in available.items()
                   if n == name and (typ is None or t == typ))
        if have < count:
            return False
    return True


def constraint_features(spec: str) -> list[str]:
    """Feature names in a constraint expression (``a&b``, ``a|b``, ``[a*2&b]``, ``a,b``)."""
    names = []
    for token in re.split(r"[&|,()\[\]]", spec):
        token = token.strip()
        if not token:
            continue
        token = re.sub(r"\*\d+$", "", token)
        if not re.match(r"^[\w.:=-]+$", token):
            raise ValueError(f"bad feature {token!r}")
        names.append(token)
    if not names:
        raise ValueError("empty constraint")
    return names


def constraint_satisfied(spec: str, features: set[str]) -> bool:
    """Whether a node with ``features`` matches the expression (``&``/``,`` and, ``|`` or).

    Counts (``*2``) and brackets are ignored: this is the "could any node ever
    run it" check, not placement.
    """
    expr = re.sub(r"[\[\]()]", "", spec).replace(",", "&")
    for alternative in expr.split("|"):
        wanted = [re.sub(r"\*\d+$", "", t.strip()) for t in alternative.split("&") if t.strip()]
        if all(w in features for w in wanted):
            return True
    return False
