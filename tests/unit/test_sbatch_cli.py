"""The sbatch command in-process: Slurm's golden error output, and its stdout contract
against a stub controller (the real controller is exercised end to end elsewhere)."""

from __future__ import annotations

import io
import json
import shlex
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from drover.cli import sbatch
from tests import shared

GOLDEN = shared.GOLDEN
GOLDEN_HOME = "/home/alice/golden"
SCRIPTS = {
    "badopt.sh": "#!/bin/bash\n#SBATCH --no-such-option=3\necho hi\n",
    "badtime.sh": "#!/bin/bash\n#SBATCH --time=banana\necho hi\n",
    "nosheb.sh": "echo no shebang\n",
}


def read_golden(name: str) -> tuple[str, str, str, int]:
    path = next(GOLDEN.glob(f"{name}*.txt"), None)
    if path is None:
        pytest.skip("golden files not available")
    text = path.read_text()
    command = text.splitlines()[0][2:]
    out = text.split("--- stdout\n", 1)[1].split("--- stderr\n", 1)
    err, code = out[1].split("--- exit ", 1)
    return command, out[0], err, int(code.strip())


class Run:
    def __init__(self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                 tmp_path: Path) -> None:
        self.mp, self.capsys, self.tmp = monkeypatch, capsys, tmp_path
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("DROVER_URL", "http://127.0.0.1:9")  # nothing listens there
        for var in ("SBATCH_PARTITION", "SBATCH_TIMELIMIT", "SBATCH_EXPORT"):
            monkeypatch.delenv(var, raising=False)

    def __call__(self, argv: list[str], stdin: str = "") -> tuple[str, str, int]:
        self.mp.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(stdin.encode())))
        try:
            code = sbatch.main(argv)
        except SystemExit as exc:
            code = int(exc.code or 0)
        out, err = self.capsys.readouterr()
        return out, err, code


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        tmp_path: Path) -> Run:
    for name, text in SCRIPTS.items():
        (tmp_path / name).write_text(text)
    return Run(monkeypatch, capsys, tmp_path)


@pytest.mark.parametrize("case", ["022", "023", "024", "025", "026", "031", "045"])
def test_error_output_matches_real_slurm(run: Run, case: str) -> None:
    command, stdout, stderr, code = read_golden(case)
    argv = [w.replace(GOLDEN_HOME, str(run.tmp)) for w in shlex.split(command)[1:]]
    out, err, rc = run(argv)
    assert (out, err.replace(str(run.tmp), GOLDEN_HOME), rc) == (stdout, stderr, code)


def test_an_empty_stdin_is_an_empty_script(run: Run) -> None:
    _, stdout, stderr, code = read_golden("027")
    assert run([], stdin="") == (stdout, stderr, code)


def test_an_unreachable_controller_fails_like_slurm(run: Run) -> None:
    out, err, rc = run(["--wrap", "true"])
    assert (out, rc) == ("", 1)
    assert err == ("sbatch: error: Batch job submission failed: "
                   "Unable to contact slurm controller (connect failure)\n")


def test_no_configuration_says_what_to_do(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DROVER_URL")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(run.tmp / "none"))
    monkeypatch.setattr("drover.clientconf.SYSTEM_FILE", run.tmp / "none.json")
    out, err, rc = run(["--wrap", "true"])
    assert (out, rc) == ("", 1)
    assert "no controller configured" in err and "DROVER_URL" in err


class Stub:
    """A stand-in controller: records each request, answers with ``reply``."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict[str, str], Any]] = []
        self.reply: tuple[int, Any] = (201, {"job_id": 12})


@pytest.fixture
def stub(run: Run, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stub]:
    state = Stub()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"null")
            state.requests.append(("POST", self.path, dict(self.headers), body))
            status, payload = state.reply
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    monkeypatch.setenv("DROVER_URL", f"http://127.0.0.1:{server.server_address[1]}")
    monkeypatch.setenv("DROVER_TOKEN", "tok")
    yield state
    server.shutdown()
    server.server_close()


def test_submit_prints_only_the_job_line(run: Run, stub: Stub) -> None:
    assert run(["--wrap", "sleep 600"]) == ("Submitted batch job 12\n", "", 0)
    method, path, headers, body = stub.requests[0]
    assert (method, path, headers["Authorization"]) == ("POST", "/api/jobs/", "Bearer tok")
    assert body["script"].endswith("sleep 600\n") and body["name"] == "wrap"
    assert body["cwd"] == str(run.tmp) and body["submit_host"]


def test_parsable_prints_the_bare_id(run: Run, stub: Stub) -> None:
    assert run(["--parsable", "-J", "quick", "--wrap", "echo quick"]) == ("12\n", "", 0)
    assert run(["--parsable", "-M", "c1", "--wrap", "true"]) == ("12;c1\n", "", 0)
    assert run(["-Q", "--wrap", "true"]) == ("", "", 0)


def test_a_script_file_is_copied_with_its_arguments(run: Run, stub: Stub) -> None:
    script = run.tmp / "job.sh"
    script.write_text("#!/bin/bash\n#SBATCH -J fromfile\necho $1\n")
    assert run(["job.sh", "a", "b"])[0] == "Submitted batch job 12\n"
    body = stub.requests[0][3]
    assert (body["script"], body["argv"], body["name"]) == (script.read_text(), ["a", "b"],
                                                            "fromfile")


def test_stdin_script(run: Run, stub: Stub) -> None:
    out, err, rc = run([], stdin="#!/bin/bash\n#SBATCH -J fromstdin\necho stdin\n")
    assert (out, err, rc) == ("Submitted batch job 12\n", "", 0)
    assert stub.requests[0][3]["name"] == "fromstdin"


def test_test_only_prints_slurms_line_on_stderr(run: Run, stub: Stub,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sbatch, "format_timestamp", lambda t: "2026-11-24T13:34:10")
    stub.reply = (200, {"job_id": 0, "test_only": {"job_id": 17, "start_time": 1.0, "cpus": 1,
                                                   "nodes": "n2", "partition": "debug"}})
    _, stdout, stderr, code = read_golden("015")
    assert run(["--test-only", "--wrap", "true"]) == (stdout, stderr, code)
    assert stub.requests[0][3]["test_only"] is True


@pytest.mark.parametrize(("case", "payload"), [
    ("029", {"errors": [{"error": "Job dependency problem", "error_number": 2011}]}),
    ("016", {"errors": [{"error": "Invalid partition name specified", "error_number": 2000,
                         "detail": ["invalid partition specified: nosuch"]}]}),
])
def test_controller_errors_are_printed_as_slurm_does(run: Run, stub: Stub, case: str,
                                                     payload: dict[str, Any]) -> None:
    command, stdout, stderr, code = read_golden(case)
    stub.reply = (400, payload)
    assert run(shlex.split(command)[1:]) == (stdout, stderr, code)
