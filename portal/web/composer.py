"""The job composer: a script editor with #SBATCH options as form fields."""

from __future__ import annotations

import grp
import os
import pwd
import socket
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from accounting.models import Association
from portal.web import backend
from portal.web.csp import csp
from portal.web.forms import ComposeForm
from scheduler.models import Partition

DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"
# Slurm's words → the field a refusal is about (only when that field was filled in).
_ERROR_FIELDS = [("--partition", "partition"), ("partition", "partition"),
                 ("--account", "account"), ("account", "account"), ("association", "account"),
                 ("--time", "time"), ("time limit", "time"), ("--mem", "mem"),
                 ("memory", "mem"), ("node count", "nodes"), ("--nodes", "nodes"),
                 ("--cpus-per-task", "cpus_per_task"), ("--ntasks", "ntasks"),
                 ("task count", "ntasks"), ("--output", "output"), ("--job-name", "job_name")]


def home_dir(username: str) -> str:
    try:
        return pwd.getpwnam(username).pw_dir
    except KeyError:
        return f"/home/{username}"


def unix_groups(username: str) -> set[str] | None:
    """The user's Unix groups; None for root, whom AllowGroups never stops."""
    try:
        pw = pwd.getpwnam(username)
    except KeyError:
        return set()
    if pw.pw_uid == 0:
        return None
    names = set()
    for gid in os.getgrouplist(username, pw.pw_gid):
        try:
            names.add(grp.getgrgid(gid).gr_name)
        except KeyError:
            continue
    return names


def usable_partitions(username: str) -> list[tuple[str, str]]:
    """Partitions whose AllowGroups let ``username`` in (as do_submit_job checks them)."""
    groups: set[str] | None = None
    looked_up = False
    out = []
    for p in Partition.objects.order_by("-is_default", "name"):
        allowed = [g for g in p.allow_groups.replace(" ", "").split(",") if g]
        if allowed and "ALL" not in allowed:
            if not looked_up:
                groups, looked_up = unix_groups(username), True
            if groups is not None and not groups.intersection(allowed):
                continue
        label = f"{p.name} (default)" if p.is_default else p.name
        out.append((p.name, label))
    return out


def user_accounts(username: str) -> tuple[list[str], str]:
    """(the user's accounts, the default one) from their associations."""
    assocs = list(Association.objects.filter(user=username).select_related("account")
                  .order_by("-is_default", "account__name"))
    names = list(dict.fromkeys(a.account.name for a in assocs))
    default = next((a.account.name for a in assocs if a.is_default), names[0] if names else "")
    return names, default


def _attach(form: ComposeForm, exc: backend.ActionFailed) -> None:
    """Slurm's message at the top (as sbatch words it), and on the field it is about."""
    text = " ".join([exc.error, *exc.detail]).lower()
    for word, field in _ERROR_FIELDS:
        if word in text and form.cleaned_data.get(field) not in (None, ""):
            form.add_error(field, exc.error)
            break
    if exc.stage == "options":
        form.add_error(None, exc.error)
    else:
        form.add_error(None, f"Batch job submission failed: {exc.error}")
    for line in exc.detail:
        form.add_error(None, line)


@login_required
@csp
def compose(request: HttpRequest) -> HttpResponse:
    username = request.user.get_username()
    home = home_dir(username)
    accounts, default_account = user_accounts(username)
    form_kw: dict[str, Any] = {"partitions": usable_partitions(username), "accounts": accounts,
                               "default_account": default_account}
    if request.method != "POST":
        form = ComposeForm(initial={"workdir": home}, **form_kw)
        return render(request, "portal/compose.html", {"form": form, "nav": "compose"})
    form = ComposeForm(request.POST, **form_kw)
    if form.is_valid():
        environ = {"HOME": home, "USER": username, "LOGNAME": username, "PATH": DEFAULT_PATH}
        try:
            job_id = backend.submit(request.user, form.cleaned_data["script"], form.argv(),
                                    environ=environ, cwd=form.cleaned_data["workdir"],
                                    submit_host=socket.gethostname())
        except backend.ActionFailed as exc:
            _attach(form, exc)
        else:
            return redirect("job-detail", job_id=str(job_id))
    return render(request, "portal/compose.html", {"form": form, "nav": "compose"}, status=400)
