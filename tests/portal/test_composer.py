"""The job composer: fields as sbatch options over #SBATCH lines, Slurm's errors shown."""

from __future__ import annotations

import pwd
from typing import Any

import pytest
from django.test import Client

from accounting.models import Account, Association
from scheduler.models import Job
from tests.portal.conftest import make_user

pytestmark = pytest.mark.django_db
# A real Unix user that is not an operator: jobs run as their owner, so the owner must exist.
UNIX_USER = "nobody"
SCRIPT = "#!/bin/bash\n#SBATCH --job-name=from-script\n#SBATCH --time=5\necho hi\n"


@pytest.fixture
def nobody(db: Any) -> Any:
    pwd.getpwnam(UNIX_USER)
    return make_user(UNIX_USER)


def client_for(user: Any, **kw: Any) -> Client:
    client = Client(**kw)
    client.force_login(user)
    return client


def form(**fields: Any) -> dict[str, Any]:
    data = {"script": SCRIPT, "job_name": "", "partition": "", "account": "", "time": "",
            "nodes": "", "ntasks": "", "cpus_per_task": "", "mem": "", "output": "",
            "workdir": "/tmp"}
    data.update(fields)
    return data


def test_the_composer_starts_with_a_bash_script_and_the_home_directory(nobody: Any,
                                                                      cluster: Any) -> None:
    response = client_for(nobody).get("/compose/")
    html = response.content.decode()
    assert "#!/bin/bash" in html
    assert response.context["form"]["workdir"].value() == pwd.getpwnam(UNIX_USER).pw_dir


def test_only_partitions_the_user_may_use_are_offered(nobody: Any, cluster: Any) -> None:
    choices = dict(client_for(nobody).get("/compose/").context["form"].fields["partition"].choices)
    assert "debug" in choices and "secret" not in choices


def test_accounts_are_a_choice_of_the_users_associations(nobody: Any, cluster: Any) -> None:
    for name, default in (("physics", False), ("chem", True)):
        Association.objects.create(account=Account.objects.create(name=name), user=UNIX_USER,
                                   is_default=default)
    field = client_for(nobody).get("/compose/").context["form"].fields["account"]
    assert [c for c, _ in field.choices] == ["", "chem", "physics"]
    assert "Default (chem)" in dict(field.choices)[""]


def test_without_associations_the_account_is_free_text(nobody: Any, cluster: Any) -> None:
    field = client_for(nobody).get("/compose/").context["form"].fields["account"]
    assert not hasattr(field, "choices")


def test_submitting_needs_a_csrf_token(nobody: Any, cluster: Any) -> None:
    client = client_for(nobody, enforce_csrf_checks=True)
    assert client.post("/compose/", form()).status_code == 403
    assert not Job.objects.exists()


def test_fields_override_sbatch_lines_and_empty_fields_keep_them(nobody: Any,
                                                                 cluster: Any) -> None:
    client = client_for(nobody, enforce_csrf_checks=True)
    token = client.get("/compose/").cookies["csrftoken"].value
    response = client.post("/compose/", {**form(job_name="from-field", ntasks="2",
                                                cpus_per_task="2", mem="1G",
                                                output="out-%j.txt"),
                                         "csrfmiddlewaretoken": token})
    job = Job.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/jobs/{job.id}/"
    assert (job.name, job.time_limit_min) == ("from-field", 5)
    assert (job.ntasks, job.cpus_per_task, job.mem_per_node_mb) == (2, 2, 1024)
    assert (job.user, job.work_dir, job.stdout) == (UNIX_USER, "/tmp", "out-%j.txt")
    assert job.state == "PENDING" and job.environment["HOME"] == pwd.getpwnam(UNIX_USER).pw_dir


def test_a_bad_option_in_a_field_is_shown_on_that_field_in_sbatchs_words(nobody: Any,
                                                                        cluster: Any) -> None:
    response = client_for(nobody).post("/compose/", form(time="soon"))
    assert response.status_code == 400
    form_ = response.context["form"]
    assert form_.errors["time"] == ["Invalid --time specification"]
    assert "Invalid --time specification" in form_.non_field_errors()
    assert not Job.objects.exists()


def test_a_refusal_caused_by_an_sbatch_line_names_the_problem(nobody: Any, cluster: Any) -> None:
    script = "#!/bin/bash\n#SBATCH --partition=nosuch\necho hi\n"
    response = client_for(nobody).post("/compose/", form(script=script))
    assert response.status_code == 400
    errors = response.context["form"].non_field_errors()
    assert "Batch job submission failed: Invalid partition name specified" in errors
    assert "invalid partition specified: nosuch" in errors
    assert "Invalid partition name specified" in response.content.decode()


def test_a_script_without_an_interpreter_line_is_refused_as_sbatch_refuses_it(
        nobody: Any, cluster: Any) -> None:
    response = client_for(nobody).post("/compose/", form(script="echo hi\n"))
    assert response.status_code == 400
    assert "This does not look like a batch script" in response.content.decode()


def test_the_working_directory_must_be_absolute(nobody: Any, cluster: Any) -> None:
    response = client_for(nobody).post("/compose/", form(workdir="relative/dir"))
    assert response.status_code == 400
    assert "absolute path" in response.context["form"].errors["workdir"][0]


@pytest.mark.parametrize(("name", "error"), [
    ("two\nlines", "The job name contains a newline."),
    ("tab\there", "The job name contains a tab."),
    ("bell\x07", "The job name contains the unprintable character U+0007."),
])
def test_a_job_name_with_a_control_character_is_refused(nobody: Any, cluster: Any, name: str,
                                                        error: str) -> None:
    response = client_for(nobody).post("/compose/", form(job_name=name))
    assert response.status_code == 400
    assert response.context["form"].errors["job_name"] == [error]
    assert not Job.objects.exists()


@pytest.mark.parametrize(("workdir", "error"), [
    ("/no/such/dir", "/no/such/dir: No such file or directory"),
    ("/etc/passwd", "/etc/passwd: Not a directory"),
])
def test_the_working_directory_must_be_a_directory_that_exists(nobody: Any, cluster: Any,
                                                               workdir: str, error: str) -> None:
    response = client_for(nobody).post("/compose/", form(workdir=workdir))
    assert response.status_code == 400
    assert response.context["form"].errors["workdir"] == [error]
    assert error in response.content.decode()
    assert not Job.objects.exists()


def test_a_refused_submission_keeps_everything_typed(nobody: Any, cluster: Any) -> None:
    typed = form(script=SCRIPT + "echo more\n", job_name="a\nb", time="10", ntasks="3",
                 mem="2G", output="out-%j.txt", workdir="/no/such/dir")
    response = client_for(nobody).post("/compose/", typed)
    assert response.status_code == 400
    bound = response.context["form"]
    for name in ("script", "job_name", "time", "ntasks", "mem", "output", "workdir"):
        assert str(bound[name].value()) == typed[name], name
    html = response.content.decode()
    assert "echo more" in html and 'value="out-%j.txt"' in html
    assert 'value="/no/such/dir"' in html


def test_a_user_unknown_to_unix_gets_slurms_error(cluster: Any) -> None:
    ghost = make_user("no-such-unix-user-drover")
    response = client_for(ghost).post("/compose/", form())
    assert response.status_code == 400
    assert "Batch job submission failed: Invalid user id" in response.context[
        "form"].non_field_errors()
