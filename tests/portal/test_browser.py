"""The portal in a real browser against a real cluster (uvicorn, workers, node agents).

Debian's Chromium, driven by Playwright: log in, submit from the composer, and
watch another tab's queue page take the job from PENDING/RUNNING to COMPLETED
over the WebSocket, without a reload; then read the output on the job page.
Set DROVER_SCREENSHOTS=/some/dir to keep a screenshot of each page.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from portal.web.present import ACTIVE

sync_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium")

# The job's name is markup: it must show as text, live rows included, and never run.
NAME = "browser-job <b>bold</b><img src=x onerror=alert(1)>"

# Watches the queue table: every state each row shows, in order (installed through the
# devtools protocol, so the page's Content-Security-Policy still forbids inline script).
WATCH_ROWS = """() => {
  window.__marker = 1;
  window.__seen = {};
  const note = (tr) => {
    const seen = (window.__seen[tr.dataset.key] ||= []);
    if (seen[seen.length - 1] !== tr.dataset.state) seen.push(tr.dataset.state);
  };
  const tbody = document.querySelector('#queue-table tbody');
  tbody.querySelectorAll('tr[data-key]').forEach(note);
  new MutationObserver(() => tbody.querySelectorAll('tr[data-key]').forEach(note))
    .observe(tbody, {childList: true, subtree: true, attributes: true});
}"""


# The ids of a live queue table's rows as (job or array id, task or -1), in page order.
ROW_ORDER = """(table) => [...table.querySelectorAll('tbody tr:not([hidden])')].map((tr) => {
  const m = tr.cells[0].textContent.match(/^(\\d+)(?:_(\\d+))?/);
  return [Number(m[1]), m[2] === undefined ? -1 : Number(m[2]), tr.dataset.state];
})"""


@pytest.fixture
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


def shoot(page: Any, name: str) -> None:
    folder = os.environ.get("DROVER_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def watch_errors(page: Any, errors: list[str]) -> None:
    page.on("dialog", lambda d: errors.append(f"a dialog opened (injected script ran): {d}"))
    page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
    page.on("console", lambda m: errors.append(f"console: {m.text}")
            if m.type == "error" else None)


def test_a_job_submitted_in_the_browser_goes_live_from_queued_to_completed(
        live_cluster: Any, browser: Any) -> None:
    url = live_cluster.url
    expect = sync_api.expect
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    errors: list[str] = []

    # Log in.
    page = context.new_page()
    watch_errors(page, errors)
    page.goto(f"{url}/login/")
    shoot(page, "login")
    page.fill("#id_username", live_cluster.username)
    page.fill("#id_password", live_cluster.password)
    page.click(".login-card button[type=submit]")
    expect(page).to_have_url(f"{url}/")
    expect(page.locator("[data-live-status]")).to_have_text("live")

    # An array's tasks get rows as they start, so the row keys are not in task order.
    array = live_cluster.sbatch("-a", "0-3%2", "-J", "browser-array", "--wrap", "true")
    live_cluster.wait_state(f"{array}_3", "COMPLETED")

    # The queue page in a tab of its own: it must follow the job without reloading.
    queue = context.new_page()
    watch_errors(queue, errors)
    queue.goto(f"{url}/jobs/")
    expect(queue.locator("[data-live-status]")).to_have_text("live")
    queue.evaluate(WATCH_ROWS)
    navigations = queue.evaluate("performance.getEntriesByType('navigation').length")

    # Submit from the composer.
    page.goto(f"{url}/compose/")
    page.fill("#id_script", "#!/bin/bash\n#SBATCH --job-name=from-the-script\n"
                            "echo hello-from-browser; sleep 2\n")
    page.fill("#id_job_name", NAME)
    page.fill("#id_workdir", str(live_cluster.workdir))
    shoot(page, "compose")
    page.click("form.composer button[type=submit]")
    expect(page).to_have_url(re.compile(rf"{re.escape(url)}/jobs/\d+/$"))
    job_id = page.url.rstrip("/").rsplit("/", 1)[1]
    expect(page.locator("h1")).to_contain_text(NAME)  # the field beat #SBATCH

    # The queue tab shows the new row and follows it to COMPLETED.
    row = queue.locator(f'#queue-table tr[data-key="{job_id}"]')
    expect(row).to_be_visible(timeout=15_000)
    expect(row.locator(".badge")).to_have_text("COMPLETED", timeout=60_000)
    seen = queue.evaluate(f"window.__seen[{job_id!r}]")
    assert seen[-1] == "COMPLETED" and {"PENDING", "RUNNING"} & set(seen[:-1]), seen
    assert queue.evaluate("window.__marker") == 1, "the queue page was reloaded"
    assert queue.evaluate("performance.getEntriesByType('navigation').length") == navigations
    expect(row.locator("td").nth(2)).to_have_text(NAME)  # shown as text, not markup
    assert row.locator("td b, td img").count() == 0
    ids = [(base, task) for base, task, _ in queue.locator("#queue-table").evaluate(ROW_ORDER)]
    assert [(array, t) for t in range(4)] == [i for i in ids if i[0] == array]
    assert ids == sorted(ids), ids  # by job id, an array's tasks in order, live rows too
    shoot(queue, "queue")

    # The job page (not reloaded either) has gone to COMPLETED and shows the output.
    expect(page.locator("[data-badge]")).to_have_text("COMPLETED", timeout=30_000)
    expect(page.locator('[data-output="stdout"]')).to_contain_text("hello-from-browser",
                                                                 timeout=30_000)
    expect(page.locator('[data-field="exit_code"]')).to_have_text("0:0")
    shoot(page, "job")

    # The other pages render and go live too.
    for name, path in (("dashboard", "/"), ("cluster", "/cluster/")):
        page.goto(f"{url}{path}")
        expect(page.locator("[data-live-status]")).to_have_text("live")
        shoot(page, name)
        if name == "dashboard":  # my running and pending jobs first, newest first
            rows = page.locator("table[data-live-queue]").evaluate(ROW_ORDER)
            keys = [(state not in ACTIVE, -base, -task) for base, task, state in rows]
            assert rows and keys == sorted(keys), rows
    expect(page.locator("table[data-live-nodes] tbody tr")).to_have_count(
        len(live_cluster.node_names))
    assert not errors, errors
    context.close()


def log_in(context: Any, cluster: Any, errors: list[str]) -> Any:
    page = context.new_page()
    watch_errors(page, errors)
    page.goto(f"{cluster.url}/login/")
    page.fill("#id_username", cluster.username)
    page.fill("#id_password", cluster.password)
    page.click(".login-card button[type=submit]")
    sync_api.expect(page).to_have_url(f"{cluster.url}/")
    return page


# A step's name is srun's -J: markup too, shown as text in the live row.
STEP_NAME = "<img src=x onerror=alert(1)>step"


def test_a_step_srun_starts_while_the_job_page_is_open_appears_without_reload(
        live_cluster: Any, browser: Any, tmp_path: Path) -> None:
    expect = sync_api.expect
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page = log_in(context, live_cluster, errors)
    # The job waits for the page to be open before its srun starts.
    script = ("#!/bin/bash\n#SBATCH -n 2\nwhile [ ! -e go ]; do sleep 0.2; done\n"
              f"srun -n 2 -J '{STEP_NAME}' sleep 2\necho finished\n")
    job_id = live_cluster.sbatch("-J", "steps-live", "-o", "out.txt", input=script,
                                 cwd=tmp_path)
    live_cluster.wait_state(job_id, "RUNNING")
    page.goto(f"{live_cluster.url}/jobs/{job_id}/")
    expect(page.locator("[data-live-status]")).to_have_text("live")
    steps = page.locator("table[data-steps] tbody")
    expect(steps.locator('tr[data-key="batch"] td').first).to_have_text(f"{job_id}.batch",
                                                                        timeout=15_000)
    page.evaluate("() => { window.__marker = 1; }")
    navigations = page.evaluate("performance.getEntriesByType('navigation').length")

    (tmp_path / "go").touch()
    row = steps.locator('tr[data-key="0"]')
    expect(row.locator("td").first).to_have_text(f"{job_id}.0", timeout=30_000)
    expect(row.locator("td").nth(1)).to_have_text(STEP_NAME)  # text, not markup
    assert row.locator("img").count() == 0
    expect(row.locator("td").nth(7)).to_have_text("2")  # tasks
    expect(row.locator(".badge")).to_have_text("COMPLETED", timeout=30_000)
    expect(row.locator("td").nth(3)).to_have_text("0:0")
    expect(page.locator("[data-badge]")).to_have_text("COMPLETED", timeout=30_000)
    expect(steps.locator('tr[data-key="batch"] .badge')).to_have_text("COMPLETED")
    expect(page.locator("[data-steps-empty]")).to_be_hidden()
    assert page.evaluate("window.__marker") == 1, "the job page was reloaded"
    assert page.evaluate("performance.getEntriesByType('navigation').length") == navigations
    shoot(page, "job-steps")
    page.set_viewport_size({"width": 390, "height": 800})  # a phone: the table scrolls
    expect(steps.locator('tr[data-key="0"] td.col-start')).to_be_hidden()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shoot(page, "job-steps-narrow")
    assert not errors, errors
    context.close()
