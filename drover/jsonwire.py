"""JSON for the commands, from CPython's own C codec (``_json``) without ``json``.

The ``json`` package imports ``re`` (with ``enum``) and compiles patterns as it
loads: about 6 ms of CPU of every command's start-up, where a plain ``sbatch``
spends 16. ``_json`` is the C half of that same package (what ``json.dumps`` and
``json.loads`` call for plain data), so the output is byte for byte ``json``'s.
Input that does not parse is handed to ``json`` itself, for its error message;
an interpreter without ``_json`` (not CPython) uses ``json`` throughout.
"""

from __future__ import annotations

TYPE_CHECKING = False  # importing typing costs a command start-up time
if TYPE_CHECKING:
    from typing import Any

_WHITESPACE = " \t\n\r"  # JSON's, as json.decoder skips it


class _Context:
    """The decoder settings ``_json.make_scanner`` reads: ``json.loads``'s defaults."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = float  # NaN, Infinity, -Infinity
    memo: dict[str, str] = {}


def _unserialisable(obj: object) -> Any:
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


try:
    from _json import encode_basestring_ascii, make_encoder, make_scanner
except ImportError:  # pragma: no cover - not CPython
    import json

    def dumps(obj: Any) -> str:
        return json.dumps(obj)

    def loads(text: str | bytes) -> Any:
        return json.loads(text)
else:
    _scan = make_scanner(_Context())  # type: ignore[arg-type]  # typeshed: any object

    def dumps(obj: Any) -> str:
        """``json.dumps(obj)``."""
        encode = make_encoder({}, _unserialisable, encode_basestring_ascii, None, ": ", ", ",
                              False, False, True)
        return "".join(encode(obj, 0))

    def loads(text: str | bytes) -> Any:
        """``json.loads(text)``; ``ValueError`` (``json``'s own) when it does not parse."""
        s = text.decode("utf-8") if isinstance(text, bytes) else text
        start = len(s) - len(s.lstrip(_WHITESPACE))
        try:
            value, end = _scan(s, start)
        except (StopIteration, ValueError):
            value, end = None, -1
        if end < 0 or s[end:].strip(_WHITESPACE):
            import json

            return json.loads(text)  # raises, with the position and what was expected
        return value
