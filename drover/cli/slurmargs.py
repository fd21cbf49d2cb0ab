"""Command-line parsing helpers shared by squeue, scancel, sinfo, scontrol, sacct, srun.

An ``argparse`` parser that fails the way Slurm's getopt-based commands do
(``squeue: unrecognized option '--frob'`` + ``Try "squeue --help" ...``, exit 1),
the ``--version`` line, and comma-list splitting.

``--version`` prints ``slurm 22.05.8``: upstream Slurm prints
``<PACKAGE_NAME> <version>`` (``slurm 22.05.8``; Debian's build says ``slurm-wlm``),
and third-party tools match ``slurm (\\d+)\\.(\\d+)`` to decide which options
exist. Drover implements the 22.05 command-line interface, so it reports that.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable, Sequence

TYPE_CHECKING = False  # importing typing costs a command ~15 ms of start-up
if TYPE_CHECKING:
    from typing import NoReturn

# argparse passes its own messages through gettext, which imports ``locale`` and looks
# for catalogs on disk at each call (~1 ms of every command). Python ships no catalog
# for argparse, and Slurm's commands speak English: the text is the same without it.
argparse._ = str  # type: ignore[attr-defined]
argparse.ngettext = lambda singular, plural, n: singular if n == 1 else plural  # type: ignore[attr-defined]

SLURM_VERSION = "22.05.8"
VERSION_LINE = f"slurm {SLURM_VERSION}"


class _HelpFormatter(argparse.HelpFormatter):
    """argparse's, with the terminal width found as ``shutil.get_terminal_size`` does,
    without importing ``shutil`` (~2 ms: it imports zlib, bz2, lzma). argparse makes a
    formatter for every ``add_argument``, so every command run would pay for it."""

    def __init__(self, prog: str) -> None:
        try:
            columns = int(os.environ["COLUMNS"])
        except (KeyError, ValueError):
            try:
                columns = os.get_terminal_size(sys.__stdout__.fileno()).columns \
                    if sys.__stdout__ is not None else 80
            except (ValueError, OSError):
                columns = 80
        super().__init__(prog, width=max(columns - 2, 11))


class SlurmArgumentParser(argparse.ArgumentParser):
    """argparse with Slurm's error wording and exit status."""

    def __init__(self, prog: str, exit_status: int = 1, **kwargs: object) -> None:
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(prog=prog, **kwargs)  # type: ignore[arg-type]
        self.exit_status = exit_status

    def parse_known_args(self, args: Sequence[str] | None = None,  # type: ignore[override]
                         namespace: argparse.Namespace | None = None,
                         ) -> tuple[argparse.Namespace, list[str]]:
        words = list(sys.argv[1:] if args is None else args)
        return super().parse_known_args(self._getopt_values(words), namespace)

    def _getopt_values(self, words: list[str]) -> list[str]:
        """getopt's rule, which argparse lacks: an option that needs a value takes the
        next word even when it starts with ``-`` (``squeue -S -t,i``: sort by state
        descending). Such a pair is passed on joined (``-S-t,i``, ``--sort=-t,i``)."""
        takes = {name for action in self._actions
                 if action.nargs is None
                 and isinstance(action, (argparse._StoreAction, argparse._AppendAction))
                 for name in action.option_strings}
        out: list[str] = []
        i = 0
        while i < len(words):
            word = words[i]
            if word == "--":
                out.extend(words[i:])
                break
            if word in takes and i + 1 < len(words) and words[i + 1].startswith("-"):
                value = words[i + 1]
                out.append(f"{word}={value}" if word.startswith("--") else word + value)
                i += 2
                continue
            out.append(word)
            i += 1
        return out

    def error(self, message: str) -> NoReturn:
        prefix = "unrecognized arguments: "
        if message.startswith(prefix):
            first = message[len(prefix):].split()[0]
            line = f"{self.prog}: unrecognized option '{first}'" if first.startswith("-") \
                else f"{self.prog}: error: Unrecognized argument: {first}"
        else:
            line = f"{self.prog}: error: {message}"
        sys.stderr.write(f'{line}\nTry "{self.prog} --help" for more information\n')
        sys.exit(self.exit_status)


def add_version(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-V", "--version", action="version", version=VERSION_LINE)


def split_list(values: Iterable[str] | str | None) -> list[str]:
    """``["a,b", "c"]`` → ``["a", "b", "c"]`` (repeated options and comma lists)."""
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    out: list[str] = []
    for v in values:
        out.extend(x.strip() for x in v.split(",") if x.strip())
    return out


def split_job_ids(values: Iterable[str] | str | None) -> list[str]:
    """Comma lists of job ids, keeping ``10_[1-3]`` brackets together."""
    out: list[str] = []
    for chunk in ([values] if isinstance(values, str) else list(values or [])):
        depth = 0
        cur = ""
        for ch in chunk:
            if ch == "[":
                depth += 1
            elif ch == "]":
                depth -= 1
            if ch in ", " and depth <= 0:
                if cur:
                    out.append(cur)
                cur = ""
            else:
                cur += ch
        if cur:
            out.append(cur)
    return out
