"""Test settings: PostgreSQL and Redis when they answer (CI starts them), else embedded."""

from __future__ import annotations

import os
import socket
import tempfile


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


os.environ.setdefault("DROVER_STATE_DIR", tempfile.mkdtemp(prefix="drover-test-"))
if "DROVER_DATABASE_URL" not in os.environ and _listening(5432):
    os.environ["DROVER_DATABASE_URL"] = "postgres://postgres@127.0.0.1:5432/drover"
if "DROVER_REDIS_URL" not in os.environ and _listening(6379):
    os.environ["DROVER_REDIS_URL"] = "redis://127.0.0.1:6379/15"
    os.environ.setdefault("DROVER_REDIS_PREFIX", f"test{os.getpid()}:")

from portal.settings import *  # noqa: E402,F403

if DATABASES["default"]["ENGINE"].endswith("sqlite3"):  # noqa: F405
    # A file, as `drover up` uses: Django's default in-memory test database is
    # shared-cache, which locks tables across threads (the embedded loop's).
    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": os.path.join(os.environ["DROVER_STATE_DIR"], "test.sqlite3")}
