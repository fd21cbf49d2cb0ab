"""The launch order's payload (docs/architecture.md), with a batch job's SLURM_* environment.

The job's own environment (``Job.environment``, already resolved by ``--export``
on the client) comes first; the ``SLURM_*`` variables overlay it, as sbatch and
slurmd do. Output paths are expanded here (``%j %A %a %x %u %N``) and made
absolute against the job's work dir; the default is ``slurm-%j.out`` (arrays
``slurm-%A_%a.out``) and stderr goes with stdout unless ``-e`` was given.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from accounting.records import cluster_record
from scheduler.models import Job
from scheduler.records import compress_hosts


def _filepattern() -> Any:
    from drover import filepattern

    return filepattern


def counts(values: Sequence[int]) -> str:
    """Slurm's run-length form: [2, 2, 1] -> "2(x2),1"."""
    out: list[str] = []
    i = 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and values[j + 1] == values[i]:
            j += 1
        n = j - i + 1
        out.append(f"{values[i]}(x{n})" if n > 1 else str(values[i]))
        i = j + 1
    return ",".join(out)


def expand_path(pattern: str, job: Job, default: str = "") -> str:
    text = pattern or default
    if not text:
        return ""
    fp = _filepattern()
    node = job.batch_host or ""
    out = str(fp.expand(text, job_id=job.id, array_job_id=job.array_job_id,
                        array_task_id=job.array_task_id, user=job.user, job_name=job.name,
                        node=node))
    if not os.path.isabs(out) and job.work_dir:
        out = os.path.join(job.work_dir, out)
    return out


def array_env(job: Job, tasks: Sequence[int]) -> dict[str, str]:
    """SLURM_ARRAY_* for one task: from the array as submitted (``Job.array_spec``), else
    from ``tasks``, every task id of its array."""
    if job.array_task_id is None or job.array_job_id is None:
        return {}
    ids, step = _spec_ids(job.array_spec)
    if not ids:
        ids = sorted(set(tasks) | {job.array_task_id})
        steps = {b - a for a, b in zip(ids, ids[1:], strict=False)}
        step = steps.pop() if len(steps) == 1 else 1
    return {
        "SLURM_ARRAY_JOB_ID": str(job.array_job_id),
        "SLURM_ARRAY_TASK_ID": str(job.array_task_id),
        "SLURM_ARRAY_TASK_COUNT": str(len(ids)),
        "SLURM_ARRAY_TASK_MIN": str(ids[0]),
        "SLURM_ARRAY_TASK_MAX": str(ids[-1]),
        "SLURM_ARRAY_TASK_STEP": str(step),
    }


def _spec_ids(spec: str) -> tuple[list[int], int]:
    """Task ids and step of ``0-15:4%2`` (step 1 unless one range gives one)."""
    from scheduler.validation import parse_array

    if not spec:
        return [], 1
    try:
        ids, _ = parse_array(spec, 2**31)
    except ValueError:
        return [], 1
    ranges = spec.partition("%")[0].split(",")
    step = 1
    if len(ranges) == 1 and ":" in ranges[0]:
        step = int(ranges[0].rsplit(":", 1)[1])
    return ids, step


# Slurm's select plugin ids (``SELECT_PLUGIN_*``), the last part of SLURM_WORKING_CLUSTER.
_SELECT_PLUGIN_IDS = {"select/cons_res": 101, "select/linear": 102, "select/cons_tres": 109}


def working_cluster(settings: Mapping[str, str]) -> str:
    """SLURM_WORKING_CLUSTER as slurmctld writes it: ``cluster:address:port:rpc:select``,
    the controller's address being the one in ``SlurmctldHost=name(address)`` if given."""
    rec = cluster_record(dict(settings))
    name, _, addr = str(rec["control_host"]).partition("(")
    select = _SELECT_PLUGIN_IDS.get(settings.get("SelectType", ""), 109)
    return (f"{rec['name']}:{addr.rstrip(')') or name}:{rec['control_port']}:{rec['rpc']}:"
            f"{select}")


def allocation_env(job: Job, cluster: str, default_mem_per_cpu: int = 0) -> dict[str, str]:
    """The ``SLURM_*`` variables that describe ``job``'s allocation (the job must hold it):
    what salloc sets for its command, and the batch script gets too."""
    alloc: dict[str, dict[str, Any]] = job.alloc or {}
    # The batch host first, as Slurm orders SLURM_JOB_CPUS_PER_NODE.
    names = sorted(alloc, key=lambda n: (n != job.batch_host, n))
    nodelist = compress_hosts(names) or job.nodes
    cpus = [int(alloc[n].get("cpus", 0)) for n in names]
    tasks = [int(alloc[n].get("ntasks", 1)) for n in names]
    host = alloc.get(job.batch_host, {})
    start = int(job.start_time.timestamp()) if job.start_time else 0
    slurm = {
        "SLURM_CLUSTER_NAME": cluster,
        "SLURM_JOB_ID": str(job.id),
        "SLURM_JOBID": str(job.id),
        "SLURM_JOB_NAME": job.name,
        "SLURM_JOB_PARTITION": job.partition,
        "SLURM_JOB_QOS": job.qos,
        "SLURM_JOB_NODELIST": nodelist,
        "SLURM_NODELIST": nodelist,
        "SLURM_JOB_NUM_NODES": str(len(names)),
        "SLURM_NNODES": str(len(names)),
        "SLURM_JOB_CPUS_PER_NODE": counts(cpus),
        "SLURM_TASKS_PER_NODE": counts(tasks),
        "SLURM_SUBMIT_DIR": job.submit_dir or job.work_dir,
        "SLURM_SUBMIT_HOST": job.submit_host,
    }
    if job.account:
        slurm["SLURM_JOB_ACCOUNT"] = job.account
    if job.time_limit_min is not None and start:
        slurm["SLURM_JOB_END_TIME"] = str(start + job.time_limit_min * 60)
    if job.ntasks_set:  # only when -n (or --ntasks-per-node) was given, as sbatch does
        slurm["SLURM_NTASKS"] = slurm["SLURM_NPROCS"] = str(job.ntasks)
    if job.cpus_per_task_set:
        slurm["SLURM_CPUS_PER_TASK"] = str(job.cpus_per_task)
    if job.ntasks_per_node:
        slurm["SLURM_NTASKS_PER_NODE"] = str(job.ntasks_per_node)
    if job.mem_per_cpu_mb:
        slurm["SLURM_MEM_PER_CPU"] = str(job.mem_per_cpu_mb)
    elif job.mem_per_node_mb:
        slurm["SLURM_MEM_PER_NODE"] = str(job.mem_per_node_mb)
    elif default_mem_per_cpu:
        slurm["SLURM_MEM_PER_CPU"] = str(default_mem_per_cpu)
    elif int(host.get("mem_mb", 0)):
        slurm["SLURM_MEM_PER_NODE"] = str(host["mem_mb"])
    return slurm


def job_env(job: Job, cluster: str, array_tasks: Sequence[int] = (),
            default_mem_per_cpu: int = 0, working: str = "") -> dict[str, str]:
    """The environment of ``job``'s batch script (the job must hold its allocation);
    ``working``: SLURM_WORKING_CLUSTER (:func:`working_cluster`), unset when empty."""
    host = (job.alloc or {}).get(job.batch_host, {})
    gpus = [int(g) for g in host.get("gpus") or []]
    start = int(job.start_time.timestamp()) if job.start_time else 0
    env = {str(k): str(v) for k, v in (job.environment or {}).items()}
    slurm = allocation_env(job, cluster, default_mem_per_cpu)
    slurm.update({
        "ENVIRONMENT": "BATCH",
        "SLURM_JOB_USER": job.user,
        "SLURM_JOB_UID": str(job.uid),
        "SLURM_JOB_GID": str(job.gid),
        "SLURM_CPUS_ON_NODE": str(host.get("cpus", 1)),
        "SLURM_PRIO_PROCESS": "0",
        "SLURM_NODEID": "0",
        "SLURM_PROCID": "0",
        "SLURM_LOCALID": "0",
        "SLURM_GTIDS": "0",
        "SLURMD_NODENAME": job.batch_host,
        "SLURM_TOPOLOGY_ADDR": job.batch_host,
        "SLURM_TOPOLOGY_ADDR_PATTERN": "node",
        "SLURM_JOB_START_TIME": str(start),
        "SLURM_NODE_ALIASES": "(null)",  # no cloud nodes with addresses set at boot
    })
    if working:
        slurm["SLURM_WORKING_CLUSTER"] = working
    if job.restarts:
        slurm["SLURM_RESTART_COUNT"] = str(job.restarts)
    if gpus:
        ids = ",".join(str(g) for g in gpus)
        slurm["SLURM_GPUS_ON_NODE"] = str(len(gpus))
        slurm["SLURM_JOB_GPUS"] = ids
        slurm["CUDA_VISIBLE_DEVICES"] = ids
        slurm["GPU_DEVICE_ORDINAL"] = ids
    if "SLURM_EXPORT_ENV" in env:
        slurm["SLURM_EXPORT_ENV"] = env["SLURM_EXPORT_ENV"]
    slurm.update(array_env(job, array_tasks))
    env.update(slurm)
    return env


def launch_payload(job: Job, *, cluster: str, kill_wait_s: int,
                   array_tasks: Sequence[int] = (), default_mem_per_cpu: int = 0,
                   working: str = "") -> dict[str, Any]:
    """The ``launch`` order's payload for ``job`` on its batch host."""
    fp = _filepattern()
    host = (job.alloc or {}).get(job.batch_host, {})
    return {
        "job_id": job.id,
        "user": job.user,
        "uid": job.uid,
        "gid": job.gid,
        "script": job.script,
        "argv": list(job.argv or []),
        "env": job_env(job, cluster, array_tasks, default_mem_per_cpu, working),
        "cwd": job.work_dir,
        "stdout": expand_path(job.stdout, job, fp.default_output(job.array_task_id is not None)),
        "stderr": expand_path(job.stderr, job),
        "stdin": expand_path(job.stdin, job, "/dev/null"),
        "open_mode": job.open_mode or "truncate",
        "time_limit_s": None if job.time_limit_min is None else job.time_limit_min * 60,
        "cpus": int(host.get("cpus", 0)) or None,
        "mem_mb": int(host.get("mem_mb", 0)) or None,
        "gpus": [int(g) for g in host.get("gpus") or []],
        "kill_wait_s": kill_wait_s,
    }
