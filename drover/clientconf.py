"""Where a command finds its controller (docs/architecture.md, "Client configuration").

In order: ``DROVER_URL`` (with ``DROVER_TOKEN``), else
``$XDG_CONFIG_HOME/drover/client.json`` (``~/.config/drover/client.json``),
else ``/etc/drover/client.json``. ``DROVER_URL`` without ``DROVER_TOKEN``
keeps the token of the first config file found, so pointing the commands at
another address of the same controller needs no second step.
Never a ``SLURM_*`` variable: tools strip those before nested submissions.
"""

from __future__ import annotations

import os

from drover import jsonwire

TYPE_CHECKING = False  # importing typing costs a command ~15 ms of start-up
if TYPE_CHECKING:
    from collections.abc import Mapping  # collections costs ~1.7 ms
    from pathlib import Path

# Paths are strings here: pathlib costs each command ~1 ms of imports.
SYSTEM_FILE: str | os.PathLike[str] = "/etc/drover/client.json"
NOT_CONFIGURED = "drover: no controller configured: run `drover up` or set DROVER_URL"


class ClientConfError(RuntimeError):
    """No usable controller configuration; the message says what to do."""


class ClientConf:
    """The controller's base URL and the token to send.

    A plain class, as every type on a command's import path: ``dataclasses``
    imports ``inspect``, ~10 ms of each sbatch or squeue run.
    """

    __slots__ = ("url", "token")

    def __init__(self, url: str, token: str = "") -> None:
        self.url = url
        self.token = token

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, ClientConf)
                and (self.url, self.token) == (other.url, other.token))

    def __hash__(self) -> int:
        return hash((self.url, self.token))

    def __repr__(self) -> str:
        return f"ClientConf(url={self.url!r}, token={'...' if self.token else ''!r})"


def user_file(environ: Mapping[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    base = env.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "drover", "client.json")


def load(environ: Mapping[str, str] | None = None) -> ClientConf:
    """The controller to talk to; raises ClientConfError when none is configured."""
    env = os.environ if environ is None else environ
    url = env.get("DROVER_URL", "").strip().rstrip("/")
    token = env.get("DROVER_TOKEN", "")
    if url and token:
        return ClientConf(url=url, token=token)
    from_file = _first_file(env)
    if url:
        return ClientConf(url=url, token=from_file.token if from_file else "")
    if from_file is None:
        raise ClientConfError(NOT_CONFIGURED)
    return from_file


def _first_file(env: Mapping[str, str]) -> ClientConf | None:
    for path in (user_file(env), SYSTEM_FILE):
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise ClientConfError(f"drover: cannot read {path}: {exc.strerror}") from None
        return _parse(text, path)
    return None


def _parse(text: str, path: str | os.PathLike[str]) -> ClientConf:
    try:
        data = jsonwire.loads(text)
    except ValueError as exc:
        raise ClientConfError(f"drover: {path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("url"), str) or not data["url"]:
        raise ClientConfError(f"drover: {path} has no \"url\"")
    token = data.get("token", "")
    return ClientConf(url=data["url"].rstrip("/"), token=token if isinstance(token, str) else "")


def save(url: str, token: str, path: str | os.PathLike[str] | None = None) -> Path:
    """Write the client file (mode 0600, directories created); returns its path."""
    import json  # only ``drover up`` writes it
    from pathlib import Path

    target = Path(path if path is not None else user_file())
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"url": url, "token": token}, f)
        f.write("\n")
    os.chmod(tmp, 0o600)
    os.replace(tmp, target)
    return target
