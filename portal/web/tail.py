"""Read the tail of a job's output file, safely, a piece at a time.

The path comes from the job (``--output``), which its owner chose: the portal
must not become a way to read other people's files. So a file is read only if
it is a regular file owned by the job's uid, opened without following a final
symlink. At most the last ``MAX_BYTES`` are sent; after that only what was
appended since the last read.
"""

from __future__ import annotations

import codecs
import contextlib
import os
import stat
from dataclasses import dataclass, field

MAX_BYTES = 64 * 1024
TRUNCATED_NOTE = "… (earlier output not shown)\n"  # as live.js marks it


class Unreadable(Exception):
    """The output file exists but may not be shown (not a regular file, wrong owner)."""


@dataclass
class Chunk:
    text: str
    reset: bool  # replace what was shown (first read, truncation, or a jump past MAX_BYTES)
    truncated: bool  # the text starts mid-file


@dataclass
class Tail:
    path: str
    uid: int
    offset: int | None = None
    missing: bool = False  # the last poll found no file
    _decoder: codecs.IncrementalDecoder = field(
        default_factory=lambda: codecs.getincrementaldecoder("utf-8")("replace"))

    def poll(self) -> Chunk | None:
        """What is new since the last call; None when nothing is (or no file yet)."""
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except (FileNotFoundError, NotADirectoryError):
            self.missing = True
            return None
        except OSError as exc:
            raise Unreadable(f"cannot open {self.path}: {exc.strerror}") from None
        self.missing = False
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise Unreadable(f"{self.path} is not a regular file")
            if st.st_uid != self.uid:
                raise Unreadable(f"{self.path} is not owned by the job's user")
            size = st.st_size
            reset = False
            start = self.offset if self.offset is not None else 0
            if self.offset is None or size < self.offset or size - self.offset > MAX_BYTES:
                start, reset = max(0, size - MAX_BYTES), True
            if start >= size and not reset:
                return None
            data = os.pread(fd, size - start, start) if size > start else b""
        finally:
            with contextlib.suppress(OSError):
                os.close(fd)
        self.offset = start + len(data)
        if reset:
            self._decoder.reset()
        text = self._decoder.decode(data)
        return Chunk(text=text, reset=reset, truncated=reset and start > 0)


def missing_problem(path: str) -> str:
    """What a finished job's page says when its output file is not there (deleted, or
    never written)."""
    return f"{path} does not exist (deleted, or never written)"


def read_tail(path: str, uid: int, *, finished: bool = False) -> tuple[str, str]:
    """(text, problem) for a one-off render: the file's tail, or why it is not shown.

    A file missing is a problem only once the job has ended (before, it may be yet to come).
    The text starts with TRUNCATED_NOTE when it is not the whole file, as live.js shows it."""
    if not path:
        return "", ""
    tail = Tail(path, uid)
    try:
        chunk = tail.poll()
    except Unreadable as exc:
        return "", str(exc)
    if chunk is None:
        return "", missing_problem(path) if finished and tail.missing else ""
    return (TRUNCATED_NOTE if chunk.truncated else "") + chunk.text, ""
