"""/api/accounting/...: sacctmgr add, list, modify, delete; operators and coordinators write."""

from __future__ import annotations

from typing import Any

import pytest

from accounting.models import Account, Association, Qos

pytestmark = pytest.mark.django_db


def post(client: Any, path: str, body: dict[str, Any]) -> Any:
    return client.post(f"/api/accounting/{path}/", body, format="json")


@pytest.fixture
def tree(users: Any, api: Any) -> Any:
    """The golden cluster's tree: root > science > physics, root in all three."""
    root = api("root")
    Qos.objects.get_or_create(name="normal")
    assert post(root, "accounts", {"names": ["science"],
                                   "settings": {"Description": "science dept",
                                                "Organization": "anchor"}}).status_code == 201
    assert post(root, "accounts", {"names": ["physics"],
                                   "settings": {"Parent": "science",
                                                "Organization": "anchor"}}).status_code == 201
    assert post(root, "users", {"names": ["root"], "settings": {
        "Account": "root,science,physics", "DefaultAccount": "root"}}).status_code == 201
    return root


def test_the_tree_lists_depth_first_as_sacctmgr_show_assoc(tree: Any, api: Any) -> None:
    rows = api("daemon").get("/api/accounting/associations/").json()["associations"]
    assert [(r["account"], r["user"], r["depth"]) for r in rows] == [
        ("root", "", 0), ("root", "root", 1), ("science", "", 1), ("science", "root", 2),
        ("physics", "", 2), ("physics", "root", 3)]
    assert all(r["qos"] == ["normal"] for r in rows)
    accounts = {a["name"]: a for a in api("daemon").get("/api/accounting/accounts").json()[
        "accounts"]}
    assert accounts["root"]["description"] == "default root account"
    assert (accounts["physics"]["description"], accounts["physics"]["parent"]) == (
        "physics", "science")
    users = api("daemon").get("/api/accounting/users/").json()["users"]
    assert users == [{"name": "root", "default_account": "root", "admin": "Administrator",
                      "coordinators": []}]


def test_adding_an_existing_account_adds_nothing(tree: Any) -> None:
    r = post(tree, "accounts", {"names": ["science"], "settings": {}})
    assert r.status_code == 200 and r.json()["added"] == []


@pytest.mark.parametrize(("kind", "where", "settings", "field", "value"), [
    ("user", {"name": "root", "account": "science"}, {"MaxJobs": "5"}, "max_jobs_per_user", 5),
    ("user", {"name": "root"}, {"GrpTRES": "cpu=10,mem=2G"}, "grp_tres", "cpu=10,mem=2G"),
    ("user", {"name": "root"}, {"MaxWall": "1-00:00:00"}, "max_wall_min", 1440),
    ("user", {"name": "root"}, {"MaxSubmitJobs": "3"}, "max_submit_jobs_per_user", 3),
    ("account", {"name": "physics"}, {"GrpJobs": "7"}, "grp_jobs", 7),
    ("account", {"name": "physics"}, {"MaxTRES": "node=2"}, "max_tres_per_job", "node=2"),
    ("qos", {"name": "normal"}, {"MaxTRESPerUser": "cpu=4"}, "max_tres_per_user", "cpu=4"),
    ("qos", {"name": "normal"}, {"MaxJobsPerUser": "1"}, "max_jobs_per_user", 1),
    ("qos", {"name": "normal"}, {"Priority": "10"}, "priority", 10),
])
def test_modify_sets_each_limit(tree: Any, kind: str, where: dict[str, str],
                                settings: dict[str, str], field: str, value: Any) -> None:
    r = post(tree, "modify", {"kind": kind, "where": where, "settings": settings})
    assert r.status_code == 200 and r.json()["modified"]
    model = {"user": Association, "account": Account, "qos": Qos}[kind]
    name = {"user": "user", "account": "name", "qos": "name"}[kind]
    rows = model.objects.filter(**{name: where["name"]})
    if "account" in where:
        rows = rows.filter(account__name=where["account"])
    row = rows.order_by("id").last()
    assert getattr(row, field) == value


def test_minus_one_clears_a_limit(tree: Any) -> None:
    post(tree, "modify", {"kind": "qos", "where": {"name": "normal"},
                          "settings": {"MaxJobsPerUser": "2", "GrpTRES": "cpu=4,node=1"}})
    post(tree, "modify", {"kind": "qos", "where": {"name": "normal"},
                          "settings": {"MaxJobsPerUser": "-1", "GrpTRES": "node=-1"}})
    q = Qos.objects.get(name="normal")
    assert (q.max_jobs_per_user, q.grp_tres) == (None, "cpu=4")


def test_bad_settings_are_refused_with_a_clear_error(tree: Any) -> None:
    r = post(tree, "modify", {"kind": "qos", "where": {"name": "normal"},
                              "settings": {"GrpTRES": "cpu=lots"}})
    assert r.status_code == 400 and "cpu=lots" in r.json()["errors"][0]["detail"][0]
    r = post(tree, "modify", {"kind": "qos", "where": {"name": "normal"},
                              "settings": {"Frobnicate": "1"}})
    assert r.status_code == 400


def test_delete_account_and_user(tree: Any) -> None:
    assert post(tree, "delete", {"kind": "account", "where": {"name": "science"}}
                ).status_code == 400  # it has a child account
    r = post(tree, "delete", {"kind": "user", "where": {"name": "root", "account": "physics"}})
    assert r.json()["deleted"] == [{"user": "root", "account": "physics", "partition": ""}]
    r = post(tree, "delete", {"kind": "account", "where": {"name": "physics"}})
    assert r.json()["deleted"] == [{"name": "physics"}]
    assert not Account.objects.filter(name="physics").exists()


@pytest.mark.parametrize(("path", "body"), [
    ("accounts", {"names": ["chem"]}),
    ("qos", {"names": ["high"]}),
    ("users", {"names": ["daemon"], "settings": {"Account": "science"}}),
    ("modify", {"kind": "qos", "where": {"name": "normal"}, "settings": {"MaxJobs": "1"}}),
    ("delete", {"kind": "account", "where": {"name": "physics"}}),
])
def test_plain_users_may_not_write(tree: Any, api: Any, path: str, body: dict[str, Any]
                                   ) -> None:
    r = post(api("daemon"), path, body)
    assert r.status_code == 403
    assert r.json()["errors"][0]["error"] == "Access/permission denied"


def test_a_coordinator_manages_users_of_its_account_only(tree: Any, api: Any) -> None:
    post(tree, "users", {"names": ["daemon"], "settings": {"Account": "physics"}})
    Association.objects.filter(user="daemon").update(is_coordinator=True)
    coord = api("daemon")
    assert post(coord, "users", {"names": ["bin"], "settings": {"Account": "physics"}}
                ).status_code == 201
    assert post(coord, "modify", {"kind": "user", "where": {"name": "bin"},
                                  "settings": {"MaxJobs": "2"}}).status_code == 200
    assert post(coord, "users", {"names": ["bin"], "settings": {"Account": "science"}}
                ).status_code == 403
    assert post(coord, "accounts", {"names": ["chem"]}).status_code == 403
