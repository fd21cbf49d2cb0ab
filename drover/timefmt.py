"""Slurm's time formats: limits, elapsed times, timestamps and ``--begin`` dates.

Follows Slurm's ``src/common/parse_time.c``: ``time_str2secs`` (limits, seconds
rounded up to minutes), ``secs2time_str`` and squeue's ``_print_secs``
(durations), and ``parse_time`` (absolute and relative dates, local time).
"""

from __future__ import annotations

import time

from drover.lazyre import Pattern

TYPE_CHECKING = False  # importing typing costs a command ~15 ms of start-up
if TYPE_CHECKING:
    from datetime import datetime

# ``datetime`` is imported where dates are parsed (sbatch --begin, sacct -S): squeue
# and sinfo only format epoch seconds (``time``), and would pay ~1 ms to import it.

UNLIMITED_WORDS = frozenset({"-1", "INFINITE", "UNLIMITED"})
_TIMESPEC_CHARS = frozenset("0123456789:-")


class TimeFormatError(ValueError):
    """A time limit or date Slurm would reject."""


def parse_time_limit(s: str) -> int | None:
    """A time limit in minutes (seconds round up); None for UNLIMITED/INFINITE/-1.

    Accepts ``M``, ``M:S``, ``H:M:S``, ``D-H``, ``D-H:M``, ``D-H:M:S``. ``"0"`` is 0:
    sbatch turns a zero limit into UNLIMITED itself, slurm.conf keeps it.
    """
    secs = parse_time_limit_s(s)
    return None if secs is None else (secs + 59) // 60


def parse_time_limit_s(s: str) -> int | None:
    """As :func:`parse_time_limit`, in seconds."""
    text = s.strip()
    if text.upper() in UNLIMITED_WORDS:
        return None
    if (not text or not _TIMESPEC_CHARS.issuperset(text) or text.count("-") > 1
            or text.count(":") > 2):
        raise TimeFormatError(f"invalid time specification {s!r}")
    days = 0
    if "-" in text:
        day_part, _, text = text.partition("-")
        if not day_part or not text:
            raise TimeFormatError(f"invalid time specification {s!r}")
        days = int(day_part)
        fields = text.split(":")
        if any(not f for f in fields):
            raise TimeFormatError(f"invalid time specification {s!r}")
        hms = [int(f) for f in fields] + [0] * (3 - len(fields))
        return days * 86400 + hms[0] * 3600 + hms[1] * 60 + hms[2]
    fields = text.split(":")
    if any(not f for f in fields):
        raise TimeFormatError(f"invalid time specification {s!r}")
    nums = [int(f) for f in fields]
    if len(nums) == 3:
        return nums[0] * 3600 + nums[1] * 60 + nums[2]
    if len(nums) == 2:
        return nums[0] * 60 + nums[1]
    return nums[0] * 60


def format_time_limit(minutes: int | None) -> str:
    """sinfo/squeue TIMELIMIT: 10 → ``"10:00"``, 60 → ``"1:00:00"``, 1440 → ``"1-00:00:00"``.

    None → ``"UNLIMITED"`` (sinfo prints ``infinite``: the caller's concern).
    """
    if minutes is None:
        return "UNLIMITED"
    return format_elapsed(minutes * 60)


def format_time_limit_padded(minutes: int | None) -> str:
    """scontrol TimeLimit/MaxTime/DefaultTime: 10 → ``"00:10:00"``, 1440 → ``"1-00:00:00"``."""
    if minutes is None:
        return "UNLIMITED"
    return format_hms(minutes * 60)


def format_elapsed(seconds: int) -> str:
    """squeue ``%M``/``%l``: ``"0:07"``, ``"1:02:03"``, ``"1-00:00:00"``."""
    seconds = max(0, int(seconds))
    if seconds < 60:  # every pending job: no divisions
        return f"0:{seconds:02d}"
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    mins, secs = divmod(rest, 60)
    if days:
        return f"{days}-{hours:02d}:{mins:02d}:{secs:02d}"
    if hours:
        return f"{hours}:{mins:02d}:{secs:02d}"
    return f"{mins}:{secs:02d}"


def format_hms(seconds: int) -> str:
    """sacct Elapsed, scontrol RunTime: ``"00:00:07"``, ``"1-00:00:00"``."""
    seconds = max(0, int(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    mins, secs = divmod(rest, 60)
    if days:
        return f"{days}-{hours:02d}:{mins:02d}:{secs:02d}"
    return f"{hours:02d}:{mins:02d}:{secs:02d}"


def format_timestamp(epoch: float | None) -> str:
    """``"2026-11-24T12:34:56"`` in local time; ``"Unknown"`` for None."""
    if epoch is None:
        return "Unknown"
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(epoch))


# --- absolute and relative dates (Slurm's parse_time) ---------------------------------

_UNIT_SECONDS = (("sec", 1), ("min", 60), ("hour", 3600), ("day", 86400), ("week", 604800))
_NAMED_TIMES = {"midnight": (0, 0), "noon": (12, 0), "elevenses": (11, 0),
                "fika": (15, 0), "teatime": (16, 0)}
_REL_RE = Pattern(r"^now(?:([+-])(\d+)([a-z]*))?$")
_ISO_RE = Pattern(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[t ](\d{1,2}):(\d{1,2})(?::(\d{1,2}))?)?$")
_TOD_RE = Pattern(r"^(\d{1,2}):(\d{1,2})(?::(\d{1,2}))?\s*(am|pm)?$")
_MMDD_RE = Pattern(r"^(\d{2})[/.]?(\d{2})(?:[/.]?(\d{2}))?$")


def parse_begin(s: str, now: datetime) -> datetime:
    """``sbatch --begin``: a time of day already gone means tomorrow. Same tz as ``now``."""
    return _parse_time(s, now, past=False)


def parse_timestamp(s: str, now: datetime | None = None) -> datetime:
    """``sacct -S/-E``: ``now``, ``now-1day``, ``YYYY-MM-DD[THH:MM[:SS]]``, ``MMDD[YY]``.

    Dates without a year, and times of day, are taken in the past, as sacct does.
    """
    if now is None:
        from datetime import datetime

        now = datetime.now().astimezone()
    return _parse_time(s, now, past=True)


def _unit_seconds(word: str, original: str) -> int:
    if not word:
        return 1
    for prefix, secs in _UNIT_SECONDS:
        if prefix.startswith(word) or word.startswith(prefix):
            return secs
    if word in {"s", "m", "h", "d", "w"}:
        return dict(s=1, m=60, h=3600, d=86400, w=604800)[word]
    raise TimeFormatError(f"invalid time specification {original!r}")


def _parse_time(s: str, now: datetime, *, past: bool) -> datetime:
    text = s.strip().lower()
    base = now.replace(microsecond=0)
    midnight = base.replace(hour=0, minute=0, second=0)
    try:
        return _parse_time_text(text, s, base, midnight, past=past)
    except ValueError as exc:  # datetime rejects e.g. month 13
        if isinstance(exc, TimeFormatError):
            raise
        raise TimeFormatError(f"invalid time specification {s!r}") from None


def _parse_time_text(text: str, original: str, base: datetime, midnight: datetime, *,
                     past: bool) -> datetime:
    from datetime import timedelta

    m = _REL_RE.match(text)
    if m:
        if m.group(1) is None:
            return base
        delta = int(m.group(2)) * _unit_seconds(m.group(3), original)
        return base + timedelta(seconds=delta if m.group(1) == "+" else -delta)
    if text == "today":
        return midnight
    if text == "tomorrow":
        return midnight + timedelta(days=1)
    if text in _NAMED_TIMES:
        hour, minute = _NAMED_TIMES[text]
        return _time_of_day(base, midnight, hour, minute, 0, past=past)
    m = _ISO_RE.match(text)
    if m:
        y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
        hh, mm, ss = (int(g) if g else 0 for g in m.group(4, 5, 6))
        return base.replace(year=y, month=mo, day=d, hour=hh, minute=mm, second=ss)
    m = _TOD_RE.match(text)
    if m:
        hour, minute, sec = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
        if m.group(4) is not None:
            if not 1 <= hour <= 12:
                raise TimeFormatError(f"invalid time specification {original!r}")
            hour = hour % 12 + (12 if m.group(4) == "pm" else 0)
        return _time_of_day(base, midnight, hour, minute, sec, past=past)
    m = _MMDD_RE.match(text)
    if m:
        month, day = int(m.group(1)), int(m.group(2))
        if m.group(3) is not None:
            return midnight.replace(year=2000 + int(m.group(3)), month=month, day=day)
        when = midnight.replace(month=month, day=day)
        if past and when > base:
            when = when.replace(year=when.year - 1)
        elif not past and when < midnight:
            when = when.replace(year=when.year + 1)
        return when
    raise TimeFormatError(f"invalid time specification {original!r}")


def _time_of_day(base: datetime, midnight: datetime, hour: int, minute: int, sec: int, *,
                 past: bool) -> datetime:
    from datetime import timedelta

    when = midnight.replace(hour=hour, minute=minute, second=sec)
    if not past and when < base:
        when += timedelta(days=1)
    elif past and when > base:
        when -= timedelta(days=1)
    return when
