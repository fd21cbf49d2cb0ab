"""The commands' launchers (bin/): a shell script per command, then
``python -S bin/drover-command NAME`` finds Drover without running ``site``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = REPO / "bin"
COMMANDS = ["sbatch", "srun", "squeue", "scancel", "sinfo", "scontrol", "sacct", "sprio",
            "sshare", "sacctmgr", "sdiag", "sstat", "sreport", "salloc"]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DROVER_URL")}
    return {**env, **extra}


def _installed_bin(tmp_path: Path) -> Path:
    """bin/ as pip installs it: drover-command's ``#!python`` made this interpreter."""
    target = tmp_path / "bin"
    shutil.copytree(BIN, target)
    cmd = target / "drover-command"
    text = cmd.read_text()
    assert text.startswith("#!python\n")
    cmd.write_text(f"#!{sys.executable}\n" + text.split("\n", 1)[1])
    return target


def test_every_command_has_a_launcher_and_pyproject_installs_them_all() -> None:
    conf = tomllib.loads((REPO / "pyproject.toml").read_text())
    scripts = conf["tool"]["setuptools"]["script-files"]
    assert sorted(scripts) == sorted(f"bin/{c}" for c in [*COMMANDS, "drover-command"])
    assert not set(COMMANDS) & set(conf["project"]["scripts"])
    for name in COMMANDS:
        text = (BIN / name).read_text()
        assert text.startswith("#!/bin/sh\n")
        assert f'-S "$here/drover-command" {name} "$@"' in text
        assert os.access(BIN / name, os.X_OK)


def test_drover_command_finds_drover_without_site() -> None:
    cp = subprocess.run([sys.executable, "-S", str(BIN / "drover-command"), "sbatch",
                         "--version"], capture_output=True, text=True, cwd="/", env=_env(),
                        check=False)
    assert (cp.stdout, cp.stderr, cp.returncode) == ("slurm 22.05.8\n", "", 0)


def test_a_bare_drover_directory_on_the_path_is_not_taken_for_drover(tmp_path: Path) -> None:
    (tmp_path / "drover").mkdir()  # a namespace package, were it imported
    cp = subprocess.run([sys.executable, "-S", str(BIN / "drover-command"), "scontrol",
                         "show", "hostnames", "n[1-2]"], capture_output=True, text=True,
                        cwd="/", env=_env(PYTHONPATH=str(tmp_path)), check=False)
    assert (cp.stdout, cp.returncode) == ("n1\nn2\n", 0), cp.stderr


@pytest.mark.parametrize("via_symlink", [False, True])
def test_the_shell_launcher_runs_the_command(tmp_path: Path, via_symlink: bool) -> None:
    bindir = _installed_bin(tmp_path)
    exe = bindir / "squeue"
    if via_symlink:
        (tmp_path / "elsewhere").mkdir()
        link = tmp_path / "elsewhere" / "squeue"
        link.symlink_to(exe)
        exe = link
    cp = subprocess.run([str(exe), "--version"], capture_output=True, text=True, cwd="/",
                        env=_env(), check=False)
    assert (cp.stdout, cp.returncode) == ("slurm 22.05.8\n", 0), cp.stderr


def test_an_unknown_command_name_is_a_usage_error() -> None:
    cp = subprocess.run([sys.executable, "-S", str(BIN / "drover-command"), "nosuch"],
                        capture_output=True, text=True, env=_env(), check=False)
    assert cp.returncode == 2
    assert cp.stderr.startswith("usage: drover-command")


@pytest.mark.parametrize(("argv", "status", "out", "err"), [
    (["squeue", "--version"], 0, "slurm 22.05.8\n", ""),
    (["squeue", "--frob"], 1, "", "squeue: unrecognized option '--frob'\n"),
    (["scontrol", "show", "hostnames", "n[1-3]"], 0, "n1\nn2\nn3\n", ""),
])
def test_a_command_exits_at_once_with_its_status_and_all_its_output(
        argv: list[str], status: int, out: str, err: str) -> None:
    cp = subprocess.run([sys.executable, "-S", str(BIN / "drover-command"), *argv],
                        capture_output=True, text=True, cwd="/", env=_env(), check=False)
    assert (cp.returncode, cp.stdout) == (status, out)
    assert cp.stderr.startswith(err)


def test_a_long_output_into_a_pipe_is_written_whole() -> None:
    hosts = "n[1-20000]"
    cp = subprocess.run([sys.executable, "-S", str(BIN / "drover-command"), "scontrol",
                         "show", "hostnames", hosts], stdout=subprocess.PIPE, cwd="/",
                        env=_env(), check=False)
    assert cp.returncode == 0
    assert cp.stdout.decode().split() == [f"n{i}" for i in range(1, 20001)]


@pytest.mark.parametrize("dirname", ["proj", "with space"])
def test_an_editable_install_is_found_from_its_direct_url(tmp_path: Path, dirname: str) -> None:
    """pip records an editable install's project in direct_url.json (PEP 610); the
    command takes Drover from there, %-decoded, with no ``.pth`` or import finder."""
    import venv
    from urllib.parse import quote

    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    site_dir = next((env_dir / "lib").glob("python*/site-packages"))
    project = tmp_path / dirname
    project.symlink_to(REPO)
    dist_info = site_dir / "drover-0.1.0.dist-info"
    dist_info.mkdir()
    origin = {"dir_info": {"editable": True}, "url": "file://" + quote(str(project))}
    (dist_info / "direct_url.json").write_text(json.dumps(origin))
    cp = subprocess.run([str(env_dir / "bin" / "python"), "-S", "-X", "importtime",
                         str(BIN / "drover-command"), "squeue", "--version"],
                        capture_output=True, text=True, cwd="/", env=_env(), check=False)
    assert (cp.stdout, cp.returncode) == ("slurm 22.05.8\n", 0), cp.stderr
    imported = {line.rsplit("|", 1)[-1].strip() for line in cp.stderr.splitlines()[1:]}
    assert "drover.cli.squeue" in imported
    assert "pathlib" not in imported  # setuptools' finder was not needed
