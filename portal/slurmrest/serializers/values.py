"""Number encodings: v0.0.38 plain numbers (null when unset), v0.0.39+ no_val structs."""

from __future__ import annotations

from typing import Any

from portal.slurmrest.versions import Version
from scheduler.actions.errors import SlurmError


def no_val(value: int | float | None, *, infinite: bool = False) -> dict[str, Any]:
    """``{"set", "infinite", "number"}``; None is "not set" unless ``infinite``."""
    return {"set": value is not None or infinite, "infinite": infinite,
            "number": 0 if value is None else value}


def num(version: Version, value: int | float | None, *, infinite: bool = False,
        plain_unset: Any = None) -> Any:
    """A number as ``version`` writes it; v0.0.38 writes ``plain_unset`` for unset/infinite."""
    if version.no_val:
        return no_val(value, infinite=infinite)
    return plain_unset if value is None or infinite else value


def time_value(version: Version, epoch: int | None) -> Any:
    """Times: v0.0.38 writes 0 when unset (golden 099), v0.0.39+ an unset no_val."""
    if version.no_val:
        return no_val(epoch if epoch else None)
    return epoch or 0


def from_no_val(value: Any, key: str) -> tuple[int | None, bool]:
    """(number, infinite) from a plain number or a no_val struct given by a client."""
    if value is None:
        return None, False
    if isinstance(value, dict):
        if value.get("infinite"):
            return None, True
        if value.get("set") is False:
            return None, False
        value = value.get("number")
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise SlurmError("REST_FAIL_PARSING", f"{key} must be a number")
    return int(value), False
