"""What every command needs: fail like Slurm, and a client for the controller."""

from __future__ import annotations

import sys

from drover import api, clientconf

TYPE_CHECKING = False  # importing typing costs a command ~15 ms of start-up
if TYPE_CHECKING:
    from typing import NoReturn

UNREACHABLE = "Unable to contact slurm controller (connect failure)"


def die(prog: str, msg: str, code: int = 1) -> NoReturn:
    """``<prog>: error: <msg>`` on stderr, then exit ``code``."""
    print(f"{prog}: error: {msg}", file=sys.stderr, flush=True)
    raise SystemExit(code)


def client() -> api.Client:
    """A client for the configured controller; exit 1 with the reason when there is none."""
    try:
        return api.Client(clientconf.load())
    except clientconf.ClientConfError as exc:
        print(str(exc), file=sys.stderr, flush=True)
        raise SystemExit(1) from None
    except api.ApiUnreachable as exc:
        print(f"drover: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(1) from None


def print_submit_error(prog: str, exc: api.ApiError,
                       failed: str = "Batch job submission failed") -> None:
    """Each detail line, then ``<failed>: <error>``, as sbatch (salloc, srun) does."""
    for line in exc.detail:
        print(f"{prog}: error: {line}", file=sys.stderr)
    print(f"{prog}: error: {failed}: {exc.error}", file=sys.stderr, flush=True)
