"""Where the commands find their controller: environment first, then config files."""

from __future__ import annotations

from pathlib import Path

import pytest

from drover import clientconf


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"XDG_CONFIG_HOME": str(tmp_path), **extra}


def test_it_reads_the_user_file_written_by_save(tmp_path: Path) -> None:
    path = clientconf.save("http://h:1/", "tok", tmp_path / "drover" / "client.json")
    assert path.stat().st_mode & 0o777 == 0o600
    assert clientconf.load(_env(tmp_path)) == clientconf.ClientConf("http://h:1", "tok")


def test_drover_url_and_token_win_over_the_file(tmp_path: Path) -> None:
    clientconf.save("http://h:1", "tok", tmp_path / "drover" / "client.json")
    env = _env(tmp_path, DROVER_URL="http://other:2", DROVER_TOKEN="t2")
    assert clientconf.load(env) == clientconf.ClientConf("http://other:2", "t2")


def test_drover_url_alone_keeps_the_files_token(tmp_path: Path) -> None:
    clientconf.save("http://h:1", "tok", tmp_path / "drover" / "client.json")
    env = _env(tmp_path, DROVER_URL="http://127.0.0.1:1/")
    assert clientconf.load(env) == clientconf.ClientConf("http://127.0.0.1:1", "tok")


def test_slurm_variables_are_never_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clientconf, "SYSTEM_FILE", tmp_path / "none.json")
    env = _env(tmp_path, SLURM_CONF="/etc/slurm/slurm.conf", SLURMCTLD_HOST="x")
    with pytest.raises(clientconf.ClientConfError, match="no controller configured"):
        clientconf.load(env)


def test_a_broken_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "drover" / "client.json"
    path.parent.mkdir()
    path.write_text("{not json")
    with pytest.raises(clientconf.ClientConfError, match=str(path)):
        clientconf.load(_env(tmp_path))
