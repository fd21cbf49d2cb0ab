"""The job composer's form: a script plus the common #SBATCH options as fields.

Fields become command-line options (``--time=1:00:00``) in front of the script,
so, as with ``sbatch --time=... script.sh``, a field overrides the script's own
``#SBATCH`` line and an empty field leaves it alone.
"""

from __future__ import annotations

import os
import posixpath
import stat
from typing import Any

from django import forms

from scheduler.validation import check_job_name

DEFAULT_SCRIPT = """#!/bin/bash
#SBATCH --job-name=my-job

echo "Running on $(hostname)"
srun hostname
"""
# (field, option) in the order sbatch --help lists them.
OPTION_FIELDS = [
    ("job_name", "--job-name"),
    ("partition", "--partition"),
    ("account", "--account"),
    ("time", "--time"),
    ("nodes", "--nodes"),
    ("ntasks", "--ntasks"),
    ("cpus_per_task", "--cpus-per-task"),
    ("mem", "--mem"),
    ("output", "--output"),
]


def _text(label: str, help_text: str = "", placeholder: str = "", **kw: Any) -> forms.CharField:
    return forms.CharField(label=label, required=False, help_text=help_text, **kw,
                           widget=forms.TextInput(attrs={"placeholder": placeholder}))


class ComposeForm(forms.Form):
    script = forms.CharField(
        initial=DEFAULT_SCRIPT, strip=False,
        widget=forms.Textarea(attrs={"rows": 18, "spellcheck": "false", "class": "code",
                                     "autocomplete": "off"}))
    job_name = _text("Job name", "--job-name", "from the script", max_length=255)
    partition = forms.ChoiceField(label="Partition", required=False, help_text="--partition")
    account = forms.ChoiceField(label="Account", required=False, help_text="--account")
    time = _text("Time limit", "--time: minutes, H:MM:SS or D-HH:MM:SS", "partition default",
                 max_length=32)
    nodes = _text("Nodes", "-N, --nodes", "1", max_length=32)
    ntasks = forms.IntegerField(label="Tasks", required=False, min_value=1,
                                help_text="-n, --ntasks",
                                widget=forms.NumberInput(attrs={"placeholder": "1"}))
    cpus_per_task = forms.IntegerField(label="CPUs/task", required=False, min_value=1,
                                       help_text="-c",
                                       widget=forms.NumberInput(attrs={"placeholder": "1"}))
    mem = _text("Memory per node", "--mem: 500M, 4G, ...", "partition default", max_length=32)
    output = _text("Output file", "--output: %j is the job id", "slurm-%j.out", max_length=4096)
    workdir = forms.CharField(label="Working directory", max_length=4096,
                              help_text="where the job starts (sbatch's current directory)")

    def __init__(self, *args: Any, partitions: list[tuple[str, str]], accounts: list[str],
                 default_account: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        partition_field = self.fields["partition"]
        account_field = self.fields["account"]
        assert isinstance(partition_field, forms.ChoiceField)
        assert isinstance(account_field, forms.ChoiceField)
        partition_field.choices = [("", "Default partition"), *partitions]
        if accounts:
            account_field.choices = [("", f"Default ({default_account or accounts[0]})"),
                                              *[(a, a) for a in accounts]]
        else:
            self.fields["account"] = _text("Account", "--account", "default",
                                           max_length=64)

    def clean_job_name(self) -> str:
        value: str = self.cleaned_data["job_name"]
        try:
            check_job_name(value)
        except ValueError as exc:
            raise forms.ValidationError(f"The {exc}.") from None
        return value

    def clean_workdir(self) -> str:
        """An absolute path to a directory that exists here. sbatch does not check it
        (the job would start in /tmp, as slurmstepd does after "couldn't chdir"), but a
        form can say so before the job is queued."""
        value: str = self.cleaned_data["workdir"].strip()
        if not posixpath.isabs(value):
            raise forms.ValidationError("Give an absolute path (starting with /).")
        value = posixpath.normpath(value)
        try:
            mode = os.stat(value).st_mode
        except OSError as exc:
            raise forms.ValidationError(f"{value}: {exc.strerror}") from None
        if not stat.S_ISDIR(mode):
            raise forms.ValidationError(f"{value}: Not a directory")
        return value

    def clean_script(self) -> str:
        value: str = self.cleaned_data["script"].replace("\r\n", "\n")
        if not value.strip():
            raise forms.ValidationError("The script is empty.")
        return value  # everything else is sbatch's to judge (drover.jobopts), in its words

    def argv(self) -> list[str]:
        """The fields as sbatch options; only the ones filled in."""
        out = []
        for name, option in OPTION_FIELDS:
            value = self.cleaned_data.get(name)
            if value not in (None, ""):
                out.append(f"{option}={value}")
        return out
