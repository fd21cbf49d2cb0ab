"""sacctmgr end to end: its writes through the REST API into PostgreSQL, its lists as Slurm's."""

from __future__ import annotations

import shlex
from typing import Any

import pytest

from accounting.models import Association, Qos
from drover.api import ApiError
from drover.cli import sacctmgr
from tests.api.builders import make_user, set_param
from tests.api.conftest import client_for
from tests.cli import golden

pytestmark = pytest.mark.django_db


class LiveCtl:
    """The command line's client, answered by the real API views."""

    def __init__(self, username: str) -> None:
        self.client = client_for(username)

    def _answer(self, response: Any) -> Any:
        if response.status_code >= 400:
            raise ApiError(response.status_code, response.json().get("errors", []))
        return response.json()

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self._answer(self.client.get(path, params or {}))

    def post(self, path: str, body: Any) -> Any:
        return self._answer(self.client.post(path, body, format="json"))


def run(capsys: Any, command: str, user: str = "root") -> tuple[str, str, int]:
    code = sacctmgr.main(shlex.split(command)[1:], ctl=LiveCtl(user))
    out, err = capsys.readouterr()
    return out, err, code


@pytest.fixture
def anchor(db: Any, capsys: Any) -> None:
    """The golden cluster's accounting, made with sacctmgr itself."""
    make_user("root", operator=True)
    make_user("daemon")
    set_param("ClusterName", "anchor")
    set_param("SlurmctldHost", "127.0.0.1")
    set_param("SlurmctldPort", "18801")
    assert run(capsys, "sacctmgr -i add qos normal")[:2] == (" Nothing new added.\n", "")
    for command in ["sacctmgr -i add account science Description='science dept' "
                    "Organization=anchor",
                    "sacctmgr -i add account physics Parent=science Organization=anchor",
                    "sacctmgr -i add user root Account=root,science,physics "
                    "DefaultAccount=root"]:
        assert run(capsys, command)[2] == 0, command


@pytest.mark.parametrize("prefix", ["124", "125", "126", "127", "128", "129", "135"])
def test_lists_of_the_golden_tree_match_slurm(anchor: Any, capsys: Any, prefix: str) -> None:
    g = golden.load(prefix)
    assert run(capsys, g.command) == (g.stdout, g.stderr, g.exit)


def test_add_modify_delete_as_in_the_goldens(anchor: Any, capsys: Any) -> None:
    for prefix in ["130", "131", "132", "133", "134"]:
        g = golden.load(prefix)
        if prefix == "134":
            run(capsys, "sacctmgr -i delete user root where account=chemistry")
        assert run(capsys, g.command) == (g.stdout, g.stderr, g.exit), prefix
        if prefix == "133":
            assoc = Association.objects.get(user="root", account__name="chemistry")
            assert assoc.max_jobs_per_user == 5


def test_limits_set_by_sacctmgr_show_in_show_qos(anchor: Any, capsys: Any) -> None:
    out, err, code = run(capsys, "sacctmgr -i modify qos where name=normal set "
                                 "MaxJobsPerUser=1 MaxSubmitJobsPerUser=3 GrpTRES=cpu=8,mem=4G")
    assert (out, code) == (" Modified qos...\n  normal\n", 0)
    q = Qos.objects.get(name="normal")
    assert (q.max_jobs_per_user, q.max_submit_jobs_per_user, q.grp_tres) == (1, 3, "cpu=8,mem=4G")
    out, _, _ = run(capsys, "sacctmgr -n -P show qos format=name,maxjobspu,maxsubmitpu,grptres")
    assert out == "normal|1|3|cpu=8,mem=4G\n"


def test_a_plain_user_reads_but_may_not_write(anchor: Any, capsys: Any) -> None:
    out, _, code = run(capsys, "sacctmgr -n -s list user root format=account%256", "daemon")
    assert code == 0 and [x.strip() for x in out.splitlines()] == ["root", "science",
                                                                   "physics"]
    out, err, code = run(capsys, "sacctmgr -i add account chem", "daemon")
    assert (out, code) == ("", 1) and "privilege" in err


def test_qos_plus_and_minus_change_a_users_qos_list(anchor: Any, capsys: Any) -> None:
    assert run(capsys, "sacctmgr -i add qos short")[2] == 0
    user = "sacctmgr -i modify user root where account=physics set"
    assert run(capsys, f"{user} QOS+=short")[2] == 0

    def qos() -> list[str]:
        assoc = Association.objects.get(user="root", account__name="physics")
        return sorted(assoc.qos.values_list("name", flat=True))

    assert qos() == ["normal", "short"]
    assert run(capsys, f"{user} QOS-=normal")[2] == 0
    assert qos() == ["short"]
    out, err, code = run(capsys, f"{user} QOS+=nosuch")
    assert code == 1 and "Invalid qos specification" in err and qos() == ["short"]


def test_an_association_with_active_jobs_is_not_removed(anchor: Any, capsys: Any) -> None:
    """Slurm's refusal (ESLURM_JOBS_RUNNING_ON_ASSOC), its jobs listed; nothing removed."""
    from tests.api.builders import make_job

    job = make_job(user="root", account="physics", state="RUNNING")
    make_job(user="root", account="physics", state="COMPLETED")  # finished: no matter
    for command in ("sacctmgr -i delete account physics",
                    "sacctmgr -i delete user root where account=physics"):
        out, err, code = run(capsys, command)
        assert (out, code) == ("", 1)
        assert err == (" Error with request: Job(s) active, cancel job(s) before remove\n"
                       f"  JobID = {job.id:<10} C = anchor     A = physics    U = root     \n")
    assert Association.objects.filter(user="root", account__name="physics").exists()
    job.state = "COMPLETED"
    job.save()
    assert run(capsys, "sacctmgr -i delete user root where account=physics")[2] == 0
    assert not Association.objects.filter(user="root", account__name="physics").exists()


def test_the_normal_qos_is_there_from_the_start(db: Any, capsys: Any) -> None:
    """slurmdbd makes it on first start; jobs get it unless they name another."""
    make_user("root", operator=True)
    out, err, code = run(capsys, "sacctmgr -n -P show qos format=Name,Description")
    assert (out, err, code) == ("normal|Normal QOS default\n", "", 0)
    assert run(capsys, "sacctmgr -i add account chem")[2] == 0
    assert run(capsys, "sacctmgr -i add user alice Account=chem QOS=normal")[2] == 0
    assert [q.name for q in Association.objects.get(user="alice").qos.all()] == ["normal"]
