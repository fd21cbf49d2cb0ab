"""Every endpoint under every version answers 200 with slurmrestd's shape (goldens 098-105)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.builders import make_job, make_running
from tests.slurmrest.conftest import VERSIONS, golden_json

pytestmark = pytest.mark.django_db

ENDPOINTS = ("ping", "jobs", "job/{job}", "nodes", "node/n1", "partitions", "partition/debug",
             "diag")


@pytest.fixture
def running(cluster: Any) -> Any:
    return make_running(cluster[0], user="daemon", stdout="out-%j.txt")


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("slash", ["", "/"])
def test_every_endpoint_answers_200_with_and_without_a_slash(
        running: Any, rest: Any, version: str, endpoint: str, slash: str) -> None:
    path = f"/slurm/{version}/{endpoint.format(job=running.id)}{slash}"
    r = rest("daemon").get(path)
    assert r.status_code == 200, (path, r.content[:300])
    body = r.json()
    assert body["errors"] == [] and body["warnings"] == []
    assert body["meta"]["plugin"]["type"] == f"openapi/{version}"


def test_v0038_envelopes_match_the_goldens(running: Any, rest: Any) -> None:
    client = rest("daemon")
    for number, endpoint in (("098", "ping"), ("099", "jobs"), ("100", f"job/{running.id}"),
                             ("101", "nodes"), ("102", "node/n1"), ("103", "partitions"),
                             ("104", "diag")):
        golden = golden_json(number)
        ours = client.get(f"/slurm/v0.0.38/{endpoint}").json()
        assert set(ours) == set(golden) | {"warnings"}, endpoint
        assert ours["meta"] == golden["meta"], endpoint


def test_v0038_objects_have_the_golden_keys(running: Any, rest: Any) -> None:
    client = rest("daemon")
    job = client.get(f"/slurm/v0.0.38/job/{running.id}").json()["jobs"][0]
    assert set(job) == set(golden_json("100")["jobs"][0])
    assert list(job) == list(golden_json("100")["jobs"][0])
    node = client.get("/slurm/v0.0.38/node/n1").json()["nodes"][0]
    assert set(node) == set(golden_json("102")["nodes"][0])
    part = client.get("/slurm/v0.0.38/partitions").json()["partitions"][0]
    assert set(part) == set(golden_json("103")["partitions"][0])
    ping = client.get("/slurm/v0.0.38/ping").json()["pings"][0]
    assert set(ping) == set(golden_json("098")["pings"][0])
    stats = client.get("/slurm/v0.0.38/diag").json()["statistics"]
    assert set(stats) == set(golden_json("104")["statistics"])
    for rows in ("rpcs_by_message_type", "rpcs_by_user"):  # the requests above
        assert stats[rows] and set(stats[rows][0]) == set(golden_json("104")["statistics"][rows][0])


def test_v0038_a_pending_job_has_no_job_resources_like_the_golden(cluster: Any,
                                                                  rest: Any) -> None:
    pending = make_job("daemon")
    job = rest("daemon").get(f"/slurm/v0.0.38/job/{pending.id}").json()["jobs"][0]
    golden_pending = next(j for j in golden_json("099")["jobs"] if j["job_state"] == "PENDING")
    assert set(job) == set(golden_pending)
    assert (job["job_state"], job["start_time"], job["nodes"]) == ("PENDING", 0, "")


def test_v0038_values_are_plain(running: Any, rest: Any) -> None:
    job = rest("daemon").get(f"/slurm/v0.0.38/job/{running.id}").json()["jobs"][0]
    assert job["job_state"] == "RUNNING"
    assert job["exit_code"] == 0 and job["time_limit"] == 60
    assert job["standard_output"] == f"/tmp/out-{running.id}.txt"
    assert job["job_resources"]["nodes"] == "n1"


def test_v0038_exit_code_is_the_wait_status(cluster: Any, rest: Any) -> None:
    failed = make_job("daemon", state="FAILED", exit_code=3, end_time=None)
    job = rest("daemon").get(f"/slurm/v0.0.38/job/{failed.id}").json()["jobs"][0]
    assert job["exit_code"] == 768  # golden 099: "failer" exits 3


@pytest.mark.parametrize("version", VERSIONS[1:])
def test_v0039_plus_use_no_val_structs(running: Any, rest: Any, version: str) -> None:
    body = rest("daemon").get(f"/slurm/{version}/job/{running.id}").json()
    job = body["jobs"][0]
    assert job["time_limit"] == {"set": True, "infinite": False, "number": 60}
    assert job["cpus"] == {"set": True, "infinite": False, "number": 1}
    assert job["exit_code"]["return_code"] == {"set": True, "infinite": False, "number": 0}
    assert job["exit_code"]["status"] == ["SUCCESS"]
    assert job["standard_output"] == f"/tmp/out-{running.id}.txt"
    assert set(body["meta"]) == {"plugin", "client", "Slurm"}
    assert body["meta"]["client"]["user"] == "daemon"
    assert "last_update" in body


def test_job_state_is_a_string_until_v0039_and_a_list_from_v0040(running: Any,
                                                                  rest: Any) -> None:
    client = rest("daemon")
    states = {v: client.get(f"/slurm/{v}/job/{running.id}").json()["jobs"][0]["job_state"]
              for v in VERSIONS}
    assert states == {"v0.0.38": "RUNNING", "v0.0.39": "RUNNING",
                      "v0.0.40": ["RUNNING"], "v0.0.41": ["RUNNING"]}


def test_an_unlimited_time_limit_is_infinite_in_no_val(cluster: Any, rest: Any) -> None:
    job = make_job("daemon", time_limit_min=None)
    client = rest("daemon")
    assert client.get(f"/slurm/v0.0.38/job/{job.id}").json()["jobs"][0]["time_limit"] is None
    limit = client.get(f"/slurm/v0.0.40/job/{job.id}").json()["jobs"][0]["time_limit"]
    assert limit == {"set": True, "infinite": True, "number": 0}


@pytest.mark.parametrize("version", VERSIONS)
def test_nodes_and_partitions_carry_our_cluster(cluster: Any, rest: Any, version: str) -> None:
    client = rest("daemon")
    nodes = client.get(f"/slurm/{version}/nodes").json()["nodes"]
    assert [n["name"] for n in nodes] == ["n1", "n2", "n3", "n4"]
    assert all(n["partitions"] == ["debug", "short"] for n in nodes)
    parts = client.get(f"/slurm/{version}/partitions").json()["partitions"]
    assert [p["name"] for p in parts] == ["debug", "short"]
    assert parts[0]["flags"] == ["default"] and parts[1]["flags"] == []
    if version == "v0.0.38":
        assert (parts[0]["max_time_limit"], parts[0]["nodes"]) == (1440, "n[1-4]")
        assert nodes[0]["state"] == "idle"
    else:
        assert parts[0]["maximums"]["time"]["number"] == 1440
        assert parts[0]["nodes"]["configured"] == "n[1-4]"
        assert nodes[0]["state"] == ["IDLE"]


def test_the_openapi_documents_list_every_version(db: Any, client: Any) -> None:
    for path in ("/openapi", "/openapi.json", "/openapi/v3", "/openapi/v3/"):
        r = client.get(path)
        assert r.status_code == 200, path
        paths = r.json()["paths"]
        for version in VERSIONS:
            assert f"/slurm/{version}/job/submit" in paths
            assert set(paths[f"/slurm/{version}/job/{{job_id}}"]) == {"get", "delete"}
        assert not any("v0.0.37" in p for p in paths)
