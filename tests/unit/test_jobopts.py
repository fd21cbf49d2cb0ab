"""drover.jobopts: sbatch's options from the command line, #SBATCH lines and SBATCH_*."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drover import jobopts
from drover.jobopts import OptionError, parse_array_spec, parse_sbatch, resolve_export

NOW = datetime(2026, 11, 24, 12, 0, 0).astimezone()
SCRIPT = "#!/bin/bash\necho hi\n"
ENV = {"PATH": "/usr/bin", "HOME": "/home/alice", "SLURM_CONF": "/x"}


def desc(argv: list[str], script: str | None = SCRIPT, env: dict[str, str] | None = None,
         cwd: str = "/work") -> dict[str, Any]:
    return parse_sbatch(argv, script, ENV if env is None else env, cwd, now=NOW).job_desc


def fails(argv: list[str], script: str | None = SCRIPT,
          env: dict[str, str] | None = None) -> OptionError:
    with pytest.raises(OptionError) as exc:
        parse_sbatch(argv, script, env or {}, "/work", now=NOW)
    return exc.value


@pytest.mark.parametrize(("argv", "key", "value"), [
    (["-J", "x"], "name", "x"), (["-Jx"], "name", "x"), (["--job-name=x"], "name", "x"),
    (["--job-name", "x"], "name", "x"), (["--job=x"], "name", "x"),
    (["-p", "gpu"], "partition", "gpu"), (["-A", "phys"], "account", "phys"),
    (["-q", "high"], "qos", "high"), (["-o", "out_%j.txt"], "stdout", "out_%j.txt"),
    (["-e", "err"], "stderr", "err"), (["-i", "in.txt"], "stdin", "in.txt"),
    (["-n", "4"], "ntasks", 4), (["-c2"], "cpus_per_task", 2),
    (["--ntasks-per-node=3"], "ntasks_per_node", 3),
    (["--mem=1GB"], "mem_per_node_mb", 1024), (["--mem-per-cpu", "954M"], "mem_per_cpu_mb", 954),
    (["-t", "0:3600"], "time_limit_min", 60), (["--time=1-0"], "time_limit_min", 1440),
    (["-t", "0"], "time_limit_min", None), (["--time=UNLIMITED"], "time_limit_min", None),
    (["--time-min=10"], "time_min_min", 10), (["-a", "0-2%3"], "array", "0-2%3"),
    (["-d", "afterok:9"], "dependency", "afterok:9"), (["--comment", "hi there"], "comment",
                                                        "hi there"),
    (["--signal=B:USR1@90"], "signal", "B:USR1@90"), (["--signal", "SIGTERM"], "signal",
                                                      "TERM@60"),
    (["--open-mode=append"], "open_mode", "append"), (["--wckey", "k"], "wckey", "k"),
    (["-C", "a100&ib"], "constraint", "a100&ib"), (["--gres=gpu:2"], "gres", "gpu:2"),
    (["--gpus-per-node=2"], "gres", "gpu:2"), (["-G", "a100:4", "-N", "2"], "gres", "gpu:a100:2"),
    (["-x", "n1"], "exclude", "n1"), (["-w", "n[1-2]"], "nodelist", "n[1-2]"),
    (["--mail-type=END,FAIL"], "mail_type", "END,FAIL"), (["--mail-user=a@b"], "mail_user",
                                                          "a@b"),
    (["--reservation=r"], "reservation", "r"), (["--nice"], "nice", 100),
    (["--nice=-5"], "nice", -5), (["-H"], "hold", True), (["--exclusive"], "exclusive", True),
    (["--exclusive=user"], "exclusive", True), (["--requeue"], "requeue", True),
    (["--no-requeue"], "requeue", False), ([], "requeue", None), ([], "hold", False),
    (["--test-only"], "test_only", True),
    (["-b", "now+1hour"], "begin_time", int((NOW + timedelta(hours=1)).timestamp())),
    (["-D", "sub"], "cwd", "/work/sub"), (["--chdir=/abs"], "cwd", "/abs"), ([], "cwd", "/work"),
])
def test_each_option_lands_in_the_job_description(argv: list[str], key: str,
                                                  value: object) -> None:
    assert desc(argv)[key] == value


def test_nodes_take_a_count_or_a_range() -> None:
    assert (desc(["-N", "2"])["nodes_min"], desc(["-N", "2"])["nodes_max"]) == (2, 2)
    d = desc(["--nodes=2-4"])
    assert (d["nodes_min"], d["nodes_max"]) == (2, 4)


_NODE_COUNT = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d*)\s*)?$")  # N, N-M, N- (as a pattern)


@given(st.text(alphabet=" 0123456789-x", max_size=7))
def test_node_counts_follow_the_grammar(text: str) -> None:
    m = _NODE_COUNT.match(text)
    if m is None or int(m.group(1)) < 1 or (m.group(2) and int(m.group(2)) < int(m.group(1))):
        with pytest.raises(OptionError, match="invalid node count"):
            desc([f"--nodes={text}"])
        return
    d = desc([f"--nodes={text}"])
    hi = int(m.group(2)) if m.group(2) else (None if m.group(2) == "" else int(m.group(1)))
    assert (d["nodes_min"], d.get("nodes_max")) == (int(m.group(1)), hi)


@pytest.mark.parametrize("argv", [
    ["--acctg-freq=30"], ["--hint=nomultithread"], ["-B", "2:4:1"], ["--licenses=x:1"],
    ["--distribution", "block"], ["-m", "cyclic"], ["-k"], ["--no-kill"], ["--propagate"],
    ["--get-user-env"], ["--get-user-env=10L"], ["--kill-on-invalid-dep=yes"],
    ["--mincpus", "4"], ["--tmp=10G"], ["--sockets-per-node=2"], ["--cores-per-socket=4"],
    ["--threads-per-core=1"], ["-M", "all"], ["--clusters=c1"], ["--priority=10"],
    ["-v"], ["-Q"], ["--quiet"], ["--uid=1000"], ["--profile=task"], ["--spread-job"],
    ["-O"], ["-s"], ["--contiguous"], ["--deadline=now+1hour"], ["--delay-boot=5"],
    ["--gpus-per-task=1"], ["--cpus-per-gpu=4"], ["--mem-bind=local"], ["--network=x"],
    ["--wait-all-nodes=1"], ["--switches=1"], ["--ignore-pbs"], ["--reboot"], ["-S", "1"],
    ["--export-file=/dev/null"], ["--container", "/c"], ["--bb", "x"], ["--power=level"],
])
def test_valid_slurm_options_are_accepted_even_when_unused(argv: list[str]) -> None:
    assert desc(argv)["script"] == SCRIPT


def test_script_directives_are_read_until_the_first_command() -> None:
    script = ("#!/bin/bash -l\n#SBATCH -J fromscript # a comment\n#SBATCH --time 10\n\n"
              "# just a comment\n#SBATCH --partition=short\n#SBATCH --comment='two words'\n"
              "echo hi\n#SBATCH -J ignored\n")
    d = desc([], script)
    assert (d["name"], d["time_limit_min"], d["partition"]) == ("fromscript", 10, "short")
    assert d["comment"] == "two words"


def test_precedence_is_command_line_then_environment_then_script() -> None:
    script = "#!/bin/sh\n#SBATCH -p fromscript -t 5 -J s -A scriptacct\necho\n"
    env = {"SBATCH_PARTITION": "fromenv", "SBATCH_TIMELIMIT": "7", "SBATCH_JOB_NAME": "e"}
    d = desc(["-J", "cli"], script, env)
    assert (d["partition"], d["time_limit_min"], d["name"], d["account"]) == (
        "fromenv", 7, "cli", "scriptacct")


def test_memory_options_replace_each_other_across_sources() -> None:
    d = desc(["--mem=2G"], "#!/bin/sh\n#SBATCH --mem-per-cpu=100\ntrue\n")
    assert d["mem_per_node_mb"] == 2048 and "mem_per_cpu_mb" not in d


def test_sbatch_env_flags_and_values() -> None:
    d = desc([], env={"SBATCH_NO_REQUEUE": "1", "SBATCH_MEM_PER_NODE": "3G",
                      "SBATCH_QOS": "q", "SBATCH_ACCOUNT": "a", "SBATCH_EXPORT": "NONE"})
    assert (d["requeue"], d["mem_per_node_mb"], d["qos"], d["account"]) == (False, 3072, "q",
                                                                           "a")
    assert d["environment"] == {}


def test_wrap_builds_slurms_wrapper_script_named_wrap() -> None:
    d = desc(["--wrap", "sleep 600"], None)
    assert d["script"] == "#!/bin/sh\n# This script was created by sbatch --wrap.\n\nsleep 600\n"
    assert d["name"] == "wrap"
    assert desc(["--wrap=exec true", "-J", "x"], None)["name"] == "x"


def test_script_path_names_the_job_and_its_arguments_follow() -> None:
    d = desc(["-t", "5", "dir/job.sh", "-J", "notanoption", "x"])
    assert d["name"] == "job.sh"
    assert d["argv"] == ["-J", "notanoption", "x"]
    assert "name" not in desc([])


@pytest.mark.parametrize(("spec", "expected"), [
    (None, ENV), ("ALL", ENV), ("NONE", {"SLURM_CONF": "/x"}),
    ("ALL,K=V,K2='v w'", {**ENV, "K": "V", "K2": "v w"}),
    ("PATH,A=1", {"SLURM_CONF": "/x", "PATH": "/usr/bin", "A": "1"}),
    ('ALL,X="a,b"', {**ENV, "X": "a,b"}),
])
def test_export(spec: str | None, expected: dict[str, str]) -> None:
    assert resolve_export(spec, ENV) == expected


GOLDEN_ERRORS = [
    (["--no-such-option=3"], ["sbatch: unrecognized option '--no-such-option=3'",
                              'Try "sbatch --help" for more information'], 255),
    (["--frobnicate", "--wrap", "true"], ["sbatch: unrecognized option '--frobnicate'",
                                          'Try "sbatch --help" for more information'], 255),
    (["-t", "banana", "--wrap", "true"], ["sbatch: error: Invalid --time specification"], 255),
    (["--array=x-y", "--wrap", "true"],
     ["sbatch: error: Batch job submission failed: Invalid job array specification"], 1),
]


@pytest.mark.parametrize(("argv", "stderr", "code"), GOLDEN_ERRORS)
def test_errors_match_slurm(argv: list[str], stderr: list[str], code: int) -> None:
    exc = fails(argv, None)
    assert (exc.stderr, exc.code) == (stderr, code)


def test_a_bad_directive_fails_like_a_bad_option() -> None:
    exc = fails([], "#!/bin/sh\n#SBATCH --no-such-option=3\ntrue\n")
    assert exc.stderr[0] == "sbatch: unrecognized option '--no-such-option=3'"
    assert fails([], "#!/bin/sh\n#SBATCH --time=banana\n").stderr == [
        "sbatch: error: Invalid --time specification"]


@pytest.mark.parametrize(("argv", "first_line"), [
    (["-Z"], "sbatch: invalid option -- 'Z'"),
    (["--time"], "sbatch: option '--time' requires an argument"),
    (["--parsable=1"], "sbatch: option '--parsable' doesn't allow an argument"),
    (["--gpus-per", "1"], "sbatch: option '--gpus-per' is ambiguous; possibilities: "
                          "'--gpus-per-node' '--gpus-per-socket' '--gpus-per-task'"),
    (["-N", "x"], "sbatch: error: invalid node count `x'"),
    (["-n", "0"], 'sbatch: error: Invalid numeric value "0" for --ntasks.'),
    (["--mem=lots"], "sbatch: error: Invalid --mem specification"),
    (["--begin=whenever"], "sbatch: error: Invalid time specification whenever"),
    (["--signal=NOPE"], "sbatch: error: Invalid --signal specification"),
    (["--open-mode=sideways"], "sbatch: error: Invalid --open-mode argument: sideways"),
    (["--mail-type=BAD"], "sbatch: error: --mail-type=BAD invalid"),
    (["--mail-type=END,nope"], "sbatch: error: --mail-type=END,nope invalid"),
    (["--exclusive=bad"], "sbatch: error: Invalid --exclusive specification"),
    (["--wrap", "true", "script.sh"],
     "sbatch: error: Script arguments not permitted with --wrap option"),
])
def test_other_errors(argv: list[str], first_line: str) -> None:
    assert fails(argv).stderr[0] == first_line


def test_mail_types_and_exclusive_forms_are_accepted() -> None:
    assert desc(["--mail-type=end,FAIL"])["mail_type"] == "END,FAIL"
    assert desc(["--exclusive"])["exclusive"] is True
    assert desc(["--exclusive=user"])["exclusive"] is True
    assert desc(["--exclusive=oversubscribe"])["exclusive"] is False


def test_script_checks() -> None:
    assert fails([], "").stderr == ["sbatch: error: Batch script is empty!"]
    no_shebang = fails([], "echo hi\n")
    assert no_shebang.code == 1 and no_shebang.stderr == [
        "sbatch: error: This does not look like a batch script.  The first",
        "sbatch: error: line must start with #! followed by the path to an interpreter.",
        "sbatch: error: For instance: #!/bin/sh"]
    assert "DOS line breaks" in fails([], "#!/bin/sh\r\ntrue\r\n").stderr[0]


def test_help_and_version_go_to_stdout() -> None:
    exc = fails(["--version"])
    assert (exc.code, exc.stdout, exc.stderr) == (0, ["slurm 22.05.8"], [])
    assert fails(["-h"]).stdout[0].startswith("Usage: sbatch")


def test_request_flags() -> None:
    r = parse_sbatch(["--parsable", "-Q", "--test-only", "-W", "-M", "c1"], SCRIPT, {}, "/w",
                     now=NOW)
    assert (r.parsable, r.quiet, r.test_only, r.wait, r.clusters) == (True, True, True, True,
                                                                      "c1")


@pytest.mark.parametrize(("spec", "ids", "throttle"), [
    ("0-2", [0, 1, 2], None), ("1-3", [1, 2, 3], None), ("0-2%3", [0, 1, 2], 3),
    ("1,3,5", [1, 3, 5], None), ("0-10:2", [0, 2, 4, 6, 8, 10], None), ("7", [7], None),
])
def test_array_specs(spec: str, ids: list[int], throttle: int | None) -> None:
    parsed = parse_array_spec(spec)
    assert (parsed.ids(), parsed.throttle) == (ids, throttle)


@pytest.mark.parametrize("bad", ["x-y", "", "3-1", "1-5:0", "1-5%", "1-5%x", "1,,2", "-1"])
def test_bad_array_specs(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_array_spec(bad)


_range = st.tuples(st.integers(0, 5000), st.integers(0, 50), st.integers(1, 7)).map(
    lambda t: (t[0], t[0] + t[1], t[2]))


@given(st.lists(_range, min_size=1, max_size=5), st.none() | st.integers(1, 100))
def test_array_specs_round_trip(ranges: list[tuple[int, int, int]],
                                throttle: int | None) -> None:
    spec = jobopts.ArraySpec(tuple(ranges), throttle)
    again = parse_array_spec(str(spec))
    assert again.ids() == spec.ids() and again.throttle == throttle
    assert all(i in again.ids() for lo, _, _ in ranges for i in [lo])


@given(st.integers(0, 30), st.integers(0, 23), st.integers(0, 59), st.integers(0, 59))
def test_time_option_in_every_form(d: int, h: int, m: int, s: int) -> None:
    total_s = d * 86400 + h * 3600 + m * 60 + s
    expected = -(-total_s // 60) or None
    assert desc([f"--time={d}-{h}:{m}:{s}"])["time_limit_min"] == expected
    assert desc(["-t", f"{h}:{m}:{s}"])["time_limit_min"] == (-(-(total_s - d * 86400) // 60)
                                                              or None)


@given(st.integers(1, 10**6), st.sampled_from(["", "M", "G", "GB", "mb", "g"]))
def test_mem_option_in_every_form(n: int, unit: str) -> None:
    scale = 1024 if unit[:1].upper() == "G" else 1
    assert desc([f"--mem={n}{unit}"])["mem_per_node_mb"] == n * scale


@pytest.mark.parametrize(("text", "words"), [
    (" -J x # a comment", ["-J", "x"]),
    (" --comment='two words' -t 5", ["--comment=two words", "-t", "5"]),
    (' --comment="a \\"b\\" c"', ['--comment=a "b" c']),
    (" --output=a#b.out", ["--output=a#b.out"]),
    (" --x=it\\ s", ["--x=it s"]),
])
def test_directive_lines_split_like_a_shell(text: str, words: list[str]) -> None:
    assert jobopts.script_directives(f"#!/bin/sh\n#SBATCH{text}\ntrue\n") == [words]
