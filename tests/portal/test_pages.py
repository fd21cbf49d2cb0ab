"""The portal's pages through Django's test client: login, privacy, CSRF, escaping."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from tests.portal.conftest import make_job, make_user

pytestmark = pytest.mark.django_db
XSS = "<script>alert(1)</script>"
PAGES = ["/", "/compose/", "/jobs/", "/cluster/"]


def logged_in(user: Any, **kw: Any) -> Client:
    client = Client(**kw)
    client.force_login(user)
    return client


@pytest.mark.parametrize("url", [*PAGES, "/jobs/1/"])
def test_every_page_sends_anonymous_users_to_the_login_page(url: str) -> None:
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


def test_a_user_logs_in_with_a_password_and_csrf_token(cluster: Any) -> None:
    make_user("carol", password="s3cret-pass")
    client = Client(enforce_csrf_checks=True)
    page = client.get("/login/")
    token = page.cookies["csrftoken"].value
    without_token = client.post("/login/", {"username": "carol", "password": "s3cret-pass"})
    assert without_token.status_code == 403
    response = client.post("/login/", {"username": "carol", "password": "s3cret-pass",
                                       "csrfmiddlewaretoken": token})
    assert response.status_code == 302 and response["Location"] == "/"
    assert "carol" in client.get("/").content.decode()


def test_a_wrong_password_is_refused(cluster: Any) -> None:
    make_user("carol", password="s3cret-pass")
    response = Client().post("/login/", {"username": "carol", "password": "nope"})
    assert response.status_code == 200
    assert "correct username and password" in response.content.decode()


def test_log_out_is_a_post(alice: Any) -> None:
    client = logged_in(alice)
    assert client.get("/logout/").status_code == 405
    assert client.post("/logout/").status_code == 302
    assert client.get("/").status_code == 302


@pytest.mark.parametrize("url", PAGES)
def test_every_page_renders_with_a_strict_csp_and_no_inline_script(alice: Any, cluster: Any,
                                                                   url: str) -> None:
    make_job("alice", name="mine")
    response = logged_in(alice).get(url)
    assert response.status_code == 200
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    for tag in re.findall(r"<script[^>]*>", response.content.decode()):
        assert "src=" in tag or 'type="application/json"' in tag, tag
    assert " style=" not in response.content.decode()


def test_the_queue_shows_a_user_only_their_own_jobs(alice: Any, bob: Any, cluster: Any) -> None:
    mine = make_job("alice", name="alices-job")
    theirs = make_job("bob", name="bobs-job")
    for url in ("/jobs/", "/jobs/?scope=all", "/"):
        html = logged_in(alice).get(url).content.decode()
        assert "alices-job" in html and f'data-key="{mine.id}"' in html
        assert "bobs-job" not in html and f'data-key="{theirs.id}"' not in html


def test_operators_choose_between_their_jobs_and_everyones(operator: Any, cluster: Any) -> None:
    make_job("alice", name="alices-job")
    make_job("opal", name="opals-job")
    client = logged_in(operator)
    mine = client.get("/jobs/").content.decode()
    assert "opals-job" in mine and "alices-job" not in mine
    everyone = client.get("/jobs/?scope=all").content.decode()
    assert "opals-job" in everyone and "alices-job" in everyone
    assert 'data-ws="/ws/queue/?scope=all"' in everyone


def test_someone_elses_job_page_is_a_404(alice: Any, bob: Any, cluster: Any) -> None:
    job = make_job("bob", name="bobs-job")
    assert logged_in(alice).get(f"/jobs/{job.id}/").status_code == 404
    assert logged_in(bob).get(f"/jobs/{job.id}/").status_code == 200


def test_an_operator_sees_any_job_page(operator: Any, cluster: Any) -> None:
    job = make_job("bob", name="bobs-job")
    assert logged_in(operator).get(f"/jobs/{job.id}/").status_code == 200


@pytest.mark.parametrize("job_id", ["999999", "abc", "1_x"])
def test_unknown_or_malformed_job_ids_are_404(alice: Any, job_id: str) -> None:
    assert logged_in(alice).get(f"/jobs/{job_id}/").status_code == 404


def test_an_array_task_page_is_found_by_its_array_id(alice: Any, cluster: Any) -> None:
    make_job("alice", id=5001, array_job_id=5000, array_task_id=3, name="task")
    response = logged_in(alice).get("/jobs/5000_3/")
    assert response.status_code == 200 and "5000_3" in response.content.decode()


def test_html_in_job_names_and_output_is_escaped_everywhere(alice: Any, cluster: Any,
                                                            tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    out.write_text(f"before {XSS} after\n")
    job = make_job("alice", name=XSS, state="RUNNING", stdout=str(out))
    client = logged_in(alice)
    for url in ("/", "/jobs/", f"/jobs/{job.id}/"):
        html = client.get(url).content.decode()
        assert XSS not in html, url
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html or "\\u003Cscript" in html, url
    assert "before &lt;script&gt;alert(1)&lt;/script&gt; after" in client.get(
        f"/jobs/{job.id}/").content.decode()


def test_the_job_page_shows_state_resources_and_the_output_tail(alice: Any, cluster: Any,
                                                                 tmp_path: Path) -> None:
    out = tmp_path / "slurm-%j.out"
    job = make_job("alice", name="sim", state="RUNNING", stdout=str(out), ntasks=2,
                   cpus_per_task=3, mem_per_node_mb=2048, time_limit_min=90)
    Path(str(out).replace("%j", str(job.id))).write_text("step 1\nstep 2\n")
    html = logged_in(alice).get(f"/jobs/{job.id}/").content.decode()
    assert "RUNNING" in html and "badge-running" in html
    assert "step 1\nstep 2" in html
    assert "1:30:00" in html and "2G per node" in html
    assert f"slurm-{job.id}.out" in html
    assert f'data-ws="/ws/jobs/{job.id}/"' in html


def test_output_of_a_file_the_job_user_does_not_own_is_not_shown(alice: Any, cluster: Any,
                                                                tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("top secret\n")
    job = make_job("alice", state="RUNNING", stdout=str(secret), uid=os.getuid() + 4242)
    html = logged_in(alice).get(f"/jobs/{job.id}/").content.decode()
    assert "top secret" not in html
    assert "not owned by the job&#x27;s user" in html


def test_a_finished_job_whose_output_was_deleted_says_so(alice: Any, cluster: Any,
                                                          tmp_path: Path) -> None:
    gone = tmp_path / "gone.out"
    done = make_job("alice", state="COMPLETED", stdout=str(gone))
    running = make_job("alice", state="RUNNING", stdout=str(gone))
    client = logged_in(alice)
    assert f"{gone} does not exist" in client.get(f"/jobs/{done.id}/").content.decode()
    assert "does not exist" not in client.get(f"/jobs/{running.id}/").content.decode()


def test_a_long_output_shows_its_last_part_marked_as_such(alice: Any, cluster: Any,
                                                          tmp_path: Path) -> None:
    from portal.web.tail import MAX_BYTES

    out = tmp_path / "long.out"
    out.write_text("first line\n" + ("x" * 99 + "\n") * (3 * MAX_BYTES // 100) + "last line\n")
    job = make_job("alice", state="RUNNING", stdout=str(out))
    html = logged_in(alice).get(f"/jobs/{job.id}/").content.decode()
    assert "last line" in html and "first line" not in html
    assert "(earlier output not shown)" in html
    assert len(html) < MAX_BYTES + 20_000


def test_finished_jobs_stay_in_the_queue_for_min_job_age_only(alice: Any, cluster: Any) -> None:
    import datetime as dt

    from django.utils import timezone

    make_job("alice", name="just-done", state="COMPLETED")
    make_job("alice", name="long-gone", state="COMPLETED",
             end_time=timezone.now() - dt.timedelta(hours=1))
    html = logged_in(alice).get("/jobs/").content.decode()
    assert "just-done" in html and "long-gone" not in html


def test_the_dashboard_counts_my_jobs_and_the_clusters_cpus(alice: Any, cluster: Any) -> None:
    make_job("alice", state="RUNNING")
    make_job("alice", state="PENDING")
    make_job("alice", state="PENDING")
    make_job("bob", state="RUNNING")
    response = logged_in(alice).get("/")
    counts = response.context["counts"]
    assert counts == {"RUNNING": 1, "PENDING": 2}
    usage = response.context["usage"]
    assert (usage["alloc_cpus"], usage["cpus"], usage["gpus"], usage["gpus_used"]) == (2, 16, 2, 1)
    assert {s["state"]: s["count"] for s in usage["by_state"]} == {"MIXED": 1, "IDLE": 1}


def _row_ids(html: str) -> list[str]:
    return re.findall(r'<tr data-key="\d+" data-state="\w+">\s*<td class="mono"><a [^>]*>([^<]+)<',
                      html)


def test_the_queue_lists_jobs_by_job_id_with_an_arrays_tasks_in_order(alice: Any,
                                                                      cluster: Any) -> None:
    first = make_job("alice", state="RUNNING")
    # An array's tasks get rows as they start, so their keys are not in task order.
    base = make_job("alice", array_job_id=0, array_task_id=5, state="RUNNING")
    base.array_job_id = base.id
    base.save()
    later = make_job("alice")
    for task in (0, 1):
        make_job("alice", array_job_id=base.id, array_task_id=task, state="COMPLETED")
    html = logged_in(alice).get("/jobs/").content.decode()
    assert _row_ids(html) == [str(first.id), f"{base.id}_0", f"{base.id}_1", f"{base.id}_5",
                              str(later.id)]


def test_the_dashboard_shows_my_running_and_pending_jobs_before_finished_ones(
        alice: Any, cluster: Any) -> None:
    from portal.web.dashboard import RECENT

    running = make_job("alice", state="RUNNING")
    pending = make_job("alice")
    done = [make_job("alice", state="COMPLETED") for _ in range(RECENT)]
    html = logged_in(alice).get("/").content.decode()
    assert _row_ids(html) == [str(pending.id), str(running.id),
                              *[str(j.id) for j in done[::-1][:RECENT - 2]]]


def test_the_cluster_page_lists_partitions_and_nodes(alice: Any, cluster: Any) -> None:
    html = logged_in(alice).get("/cluster/").content.decode()
    for text in ("debug", "n1", "n2", "2/8", "gpu:a100:2", "1:00:00", "MIXED", "IDLE"):
        assert text in html, text


def test_cancel_needs_a_csrf_token(alice: Any, cluster: Any) -> None:
    job = make_job("alice", state="PENDING")
    client = logged_in(alice, enforce_csrf_checks=True)
    assert client.post(f"/jobs/{job.id}/cancel/").status_code == 403
    job.refresh_from_db()
    assert job.state == "PENDING"


def test_cancel_is_post_only(alice: Any, cluster: Any) -> None:
    job = make_job("alice")
    assert logged_in(alice).get(f"/jobs/{job.id}/cancel/").status_code == 405


def test_cancelling_someone_elses_job_is_a_404(alice: Any, bob: Any, cluster: Any) -> None:
    job = make_job("bob")
    assert logged_in(alice).post(f"/jobs/{job.id}/cancel/").status_code == 404
    job.refresh_from_db()
    assert job.state == "PENDING"


def test_cancelling_a_finished_job_says_so(alice: Any, cluster: Any) -> None:
    job = make_job("alice", state="COMPLETED")
    response = logged_in(alice).post(f"/jobs/{job.id}/cancel/", follow=True)
    assert "has already finished (COMPLETED)" in response.content.decode()


def test_cancel_with_a_csrf_token_cancels_a_pending_job(alice: Any, cluster: Any) -> None:
    job = make_job("alice", state="PENDING")
    client = logged_in(alice, enforce_csrf_checks=True)
    token = client.get(f"/jobs/{job.id}/").cookies["csrftoken"].value
    response = client.post(f"/jobs/{job.id}/cancel/",
                           {"csrfmiddlewaretoken": token, "next": "/jobs/"})
    assert response.status_code == 302 and response["Location"] == "/jobs/"
    job.refresh_from_db()
    assert job.state == "CANCELLED"


def test_cancel_never_redirects_off_site(alice: Any, cluster: Any) -> None:
    job = make_job("alice", state="PENDING")
    response = logged_in(alice).post(f"/jobs/{job.id}/cancel/",
                                     {"next": "https://evil.example/"})
    assert response["Location"] == f"/jobs/{job.id}/"


def test_an_operator_cancels_anyones_job(operator: Any, cluster: Any) -> None:
    job = make_job("bob", state="PENDING")
    logged_in(operator).post(f"/jobs/{job.id}/cancel/")
    job.refresh_from_db()
    assert job.state == "CANCELLED"


def _steps(job: Any) -> None:
    import datetime as dt

    from django.utils import timezone

    from scheduler.models import JobStep

    start = timezone.now() - dt.timedelta(minutes=2)
    JobStep.objects.create(job=job, step="batch", state="RUNNING", start_time=start,
                           cpu_time_s=5.0, max_rss_kb=2048, rss_kb=1024)
    JobStep.objects.create(job=job, step="0", name="hostname", state="COMPLETED",
                           start_time=start, end_time=start + dt.timedelta(seconds=75),
                           cpus=4, ntasks=4, cpu_time_s=61.0, max_rss_kb=1536 * 1024)
    JobStep.objects.create(job=job, step="1", name="false", state="FAILED", exit_code=1,
                           start_time=start, end_time=start, ntasks=2, cpus=2)
    JobStep.objects.create(job=job, step="2", name="mpi", state="RUNNING", start_time=start,
                           ntasks=2, cpus=2, cpu_time_s=3.0, max_rss_kb=900, rss_kb=800)


def _step_cells(html: str) -> dict[str, list[str]]:
    """The step table's rows by step key: each cell's text (badges included), tags stripped."""
    body = html.split("data-steps>", 1)[1].split("</table>", 1)[0]
    rows = re.findall(r'<tr data-key="([^"]*)"[^>]*>(.*?)</tr>', body, re.S)
    return {key: [re.sub(r"<[^>]+>", "", c).strip()
                  for c in re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)] for key, tr in rows}


def test_the_job_page_lists_its_steps_as_sacct_does(alice: Any, cluster: Any) -> None:
    job = make_job("alice", name="sim", state="RUNNING", ntasks=4, alloc={"n1": {"cpus": 4}})
    _steps(job)
    html = logged_in(alice).get(f"/jobs/{job.id}/").content.decode()
    cells = _step_cells(html)
    assert list(cells) == ["batch", "0", "1", "2"]  # the batch step first, then srun's
    batch, zero, one, two = (cells[k] for k in ("batch", "0", "1", "2"))
    # StepID, Name, State, ExitCode, Start, Elapsed, CPUs, Tasks, CPU time, MaxRSS, RSS
    assert batch[:4] == [f"{job.id}.batch", "batch", "RUNNING", "—"]
    assert batch[6:] == ["4", "1", "0:05", "2.0M", "1.0M"]  # the job's CPUs; current RSS
    assert zero[:4] == [f"{job.id}.0", "hostname", "COMPLETED", "0:0"]
    assert zero[5:] == ["1:15", "4", "4", "1:01", "1.5G", ""]  # no current RSS once ended
    assert one[2:4] == ["FAILED", "1:0"] and one[9] == "—"
    assert two[2] == "RUNNING" and two[10] == "800K"
    assert 'badge badge-completed">COMPLETED' in html and 'badge badge-failed">FAILED' in html
    assert "data-steps-empty hidden" in html


def test_a_pending_job_page_says_it_has_no_steps_yet(alice: Any, cluster: Any) -> None:
    job = make_job("alice", state="PENDING")
    html = logged_in(alice).get(f"/jobs/{job.id}/").content.decode()
    assert _step_cells(html) == {}
    assert "data-steps-empty>" in html


def test_step_names_are_escaped_on_the_job_page(alice: Any, cluster: Any) -> None:
    from scheduler.models import JobStep

    job = make_job("alice", state="RUNNING")
    JobStep.objects.create(job=job, step="0", name=XSS, state="RUNNING")
    html = logged_in(alice).get(f"/jobs/{job.id}/").content.decode()
    assert XSS not in html
    assert html.count("&lt;script&gt;alert(1)&lt;/script&gt;") == 2  # the cell and its title


def test_someone_elses_steps_are_not_shown_but_an_operator_sees_them(
        alice: Any, bob: Any, operator: Any, cluster: Any) -> None:
    from scheduler.models import JobStep

    job = make_job("bob", state="RUNNING")
    JobStep.objects.create(job=job, step="0", name="bobs-secret-step", state="RUNNING")
    refused = logged_in(alice).get(f"/jobs/{job.id}/")
    assert refused.status_code == 404 and b"bobs-secret-step" not in refused.content
    assert "bobs-secret-step" in logged_in(operator).get(f"/jobs/{job.id}/").content.decode()
