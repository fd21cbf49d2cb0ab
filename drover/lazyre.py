"""Regular expressions compiled at their first use.

``import re`` costs a command about 4 ms of CPU (it brings ``enum``, ``functools``
and the pattern compiler): a quarter of what a plain ``sbatch`` spends. The
commands' parsers keep their patterns as :class:`Pattern`, so only an option that
needs one (``--begin``, ``--array``, ``--signal``, ...) pays for ``re``.
"""

from __future__ import annotations

TYPE_CHECKING = False  # importing typing costs a command start-up time
if TYPE_CHECKING:
    import re
    from collections.abc import Callable


class Pattern:
    """``re.compile(source, flags)``, done when first asked to match."""

    __slots__ = ("_compiled", "_flags", "_source")

    def __init__(self, source: str, *flags: str) -> None:
        """``flags``: names of ``re``'s flags, such as ``"DOTALL"``."""
        self._source = source
        self._flags = flags
        self._compiled: re.Pattern[str] | None = None

    def _pattern(self) -> re.Pattern[str]:
        if self._compiled is None:
            import re

            flags = 0
            for name in self._flags:
                flags |= getattr(re, name)
            self._compiled = re.compile(self._source, flags)
        return self._compiled

    def match(self, string: str, pos: int = 0) -> re.Match[str] | None:
        return self._pattern().match(string, pos)

    def sub(self, repl: str | Callable[[re.Match[str]], str], string: str) -> str:
        return self._pattern().sub(repl, string)
