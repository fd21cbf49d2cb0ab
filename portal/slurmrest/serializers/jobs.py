"""Job records (``scheduler.records.job_record``) as slurmrestd's job objects.

v0.0.38 follows golden 099/100 key for key. v0.0.39+ (Slurm 23.02's
``job_info``) use no_val structs, a verbose exit code and lists for flags;
v0.0.40+ a list ``job_state``.
"""

from __future__ import annotations

from typing import Any

from portal.slurmrest.serializers.values import no_val, num, time_value
from portal.slurmrest.versions import Version
from scheduler import config
from scheduler.records import expand_hosts, signal_name

SHOW_FLAGS = ["SHOW_ALL", "SHOW_DETAIL", "SHOW_LOCAL"]


def _wait_status(pair: list[int]) -> int:
    """Slurm's raw exit code: the wait(2) status (golden 099: exit 3 -> 768)."""
    rc, sig = pair
    return (int(rc) << 8) | int(sig) if not sig else int(sig)


def _tres(rec: dict[str, Any], alloc: bool) -> str:
    if alloc and not rec["nodes"]:
        return ""
    cpus, nodes = rec["num_cpus"], rec["num_nodes"]
    mem = (rec["mem_per_node_mb"] * nodes if rec["mem_per_node_mb"]
           else (rec["mem_per_cpu_mb"] or 0) * cpus)
    mem_part = f"mem={mem}M," if mem else ""
    return f"cpu={cpus},{mem_part}node={nodes},billing={cpus}"


def _resources(rec: dict[str, Any]) -> dict[str, Any]:
    hosts = expand_hosts(rec["nodes"])
    return {"nodes": rec["nodes"], "allocated_cores": rec["num_cpus"],
            "allocated_hosts": len(hosts),
            "allocated_nodes": [{"sockets": {}, "nodename": h, "cpus_used": 0, "memory_used": 0,
                                 "memory_allocated": 0} for h in hosts]}


def _common(rec: dict[str, Any], version: Version) -> dict[str, Any]:
    """Keys whose encoding is the same in every version (plain strings and flags)."""
    return {
        "account": rec["account"], "admin_comment": "", "array_task_string":
        (rec["array_task_str"] or "").strip("[]"),
        "batch_features": "", "batch_flag": rec.get("batch_flag", True),
        "batch_host": rec["batch_host"],
        "flags": [], "burst_buffer": "", "burst_buffer_state": "",
        "cluster": config.get("ClusterName"), "cluster_features": "",
        "command": rec["command"], "comment": rec["comment"], "container": "",
        "contiguous": False, "cpus_per_tres": "", "dependency": rec["dependency"],
        "excluded_nodes": rec["exc_nodes"], "features": rec["constraint"],
        "federation_origin": "", "federation_siblings_active": "",
        "federation_siblings_viable": "", "gres_detail": [],
        "group_id": rec["gid"], "group_name": rec["group"], "het_job_id_set": "",
        "job_id": rec["job_id"], "licenses": "", "mcs_label": "", "memory_per_tres": "",
        "name": rec["name"], "nodes": rec["nodes"], "partition": rec["partition"],
        "prefer": "", "minimum_tmp_disk_per_node": 0, "qos": rec["qos"], "reboot": False,
        "required_nodes": rec["req_nodes"], "requeue": rec["requeue"],
        "restart_cnt": rec["restarts"], "resv_name": "", "show_flags": list(SHOW_FLAGS),
        "state_description": "", "state_reason": rec["reason"],
        "standard_error": rec["stderr"], "standard_input": rec["stdin"],
        "standard_output": rec["stdout"], "system_comment": "", "tres_bind": "",
        "tres_freq": "", "tres_per_job": "", "tres_per_node": rec["gres"],
        "tres_per_socket": "", "tres_per_task": "", "tres_req_str": _tres(rec, False),
        "tres_alloc_str": _tres(rec, True), "user_id": rec["uid"], "user_name": rec["user"],
        "wckey": "", "current_working_directory": rec["work_dir"],
    }


def job_v38(rec: dict[str, Any], version: Version) -> dict[str, Any]:
    """Golden 099's key set and order."""
    c = _common(rec, version)
    out: dict[str, Any] = {}
    for key in V38_KEYS:
        out[key] = c.get(key)
    out.update({
        "accrue_time": rec["eligible_time"] or 0,
        "array_job_id": rec["array_job_id"] or 0, "array_task_id": rec["array_task_id"],
        "array_max_tasks": 0, "association_id": 0, "core_spec": None, "thread_spec": None,
        "cores_per_socket": None, "billable_tres": float(rec["num_cpus"]),
        "cpus_per_task": rec["cpus_per_task"], "cpu_frequency_minimum": None,
        "cpu_frequency_maximum": None, "cpu_frequency_governor": None,
        "deadline": 0, "delay_boot": 0,
        "derived_exit_code": _wait_status(rec["derived_exit_code"]),
        "eligible_time": rec["eligible_time"] or 0, "end_time": rec["end_time"] or 0,
        "exit_code": _wait_status(rec["exit_code"]),
        "job_state": rec["state"], "last_sched_evaluation": rec["submit_time"] or 0,
        "max_cpus": 0, "max_nodes": 0, "nice": rec["nice"], "tasks_per_core": None,
        "tasks_per_node": rec["ntasks_per_node"] or 0, "tasks_per_socket": None,
        "tasks_per_board": 0, "cpus": rec["num_cpus"], "node_count": rec["num_nodes"],
        "tasks": rec["num_tasks"], "het_job_id": 0, "het_job_offset": 0,
        "memory_per_node": rec["mem_per_node_mb"], "memory_per_cpu": rec["mem_per_cpu_mb"],
        "minimum_cpus_per_node": rec["cpus_per_task"], "preempt_time": 0, "pre_sus_time": 0,
        "priority": rec["priority"], "profile": None, "resize_time": 0, "shared": None,
        "sockets_per_board": 0, "sockets_per_node": None,
        "start_time": rec["start_time"] or 0, "submit_time": rec["submit_time"] or 0,
        "suspend_time": 0, "time_limit": rec["time_limit_min"], "time_minimum": 0,
        "threads_per_core": None,
    })
    if rec["nodes"]:
        out = _insert_after(out, "job_id", "job_resources", _resources(rec))
    return out


def _insert_after(d: dict[str, Any], after: str, key: str, value: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        out[k] = v
        if k == after:
            out[key] = value
    return out


def _exit_code(version: Version, pair: list[int]) -> dict[str, Any]:
    rc, sig = int(pair[0]), int(pair[1])
    status = ["SIGNALED"] if sig else (["ERROR"] if rc else ["SUCCESS"])
    signal_key = "signal_id" if version.minor == 39 else "id"
    return {"status": status, "return_code": no_val(rc),
            "signal": {signal_key: no_val(sig if sig else None),
                       "name": signal_name(sig) if sig else ""}}


def job_v39(rec: dict[str, Any], version: Version) -> dict[str, Any]:
    """Slurm 23.02+ ``job_info``: no_val numbers, verbose exit codes, state list from 40."""
    c = _common(rec, version)
    unlimited = rec["time_limit_min"] is None
    out: dict[str, Any] = {key: c.get(key) for key in V39_KEYS}
    out.update({
        "accrue_time": time_value(version, rec["eligible_time"]),
        "allocating_node": rec["submit_host"],
        "array_job_id": no_val(rec["array_job_id"] or 0),
        "array_task_id": no_val(rec["array_task_id"]), "array_max_tasks": no_val(0),
        "association_id": 0, "container_id": "", "core_spec": 0, "thread_spec": 0,
        "cores_per_socket": no_val(None), "billable_tres": no_val(float(rec["num_cpus"])),
        "cpus_per_task": no_val(rec["cpus_per_task"]),
        "cpu_frequency_minimum": no_val(None), "cpu_frequency_maximum": no_val(None),
        "cpu_frequency_governor": no_val(None), "cron": "",
        "deadline": no_val(0), "delay_boot": no_val(0),
        "derived_exit_code": _exit_code(version, rec["derived_exit_code"]),
        "eligible_time": time_value(version, rec["eligible_time"]),
        "end_time": time_value(version, rec["end_time"]),
        "exit_code": _exit_code(version, rec["exit_code"]), "extra": "", "failed_node": "",
        "het_job_id": no_val(0), "het_job_offset": no_val(0),
        "job_resources": _resources(rec) if rec["nodes"] else {},
        "job_size_str": [], "job_state": [rec["state"]] if version.state_list else rec["state"],
        "last_sched_evaluation": time_value(version, rec["submit_time"]),
        "mail_type": [], "mail_user": "", "max_cpus": no_val(0), "max_nodes": no_val(0),
        "network": "", "nice": rec["nice"], "tasks_per_core": no_val(None),
        "tasks_per_tres": no_val(None), "tasks_per_node": no_val(rec["ntasks_per_node"]),
        "tasks_per_socket": no_val(None), "tasks_per_board": no_val(0),
        "cpus": no_val(rec["num_cpus"]), "node_count": no_val(rec["num_nodes"]),
        "tasks": no_val(rec["num_tasks"]),
        "memory_per_cpu": no_val(rec["mem_per_cpu_mb"]),
        "memory_per_node": no_val(rec["mem_per_node_mb"]),
        "minimum_cpus_per_node": no_val(rec["cpus_per_task"]),
        "power": {"flags": []}, "preempt_time": no_val(0), "preemptable_time": no_val(0),
        "pre_sus_time": no_val(0), "hold": rec["hold"], "priority": no_val(rec["priority"]),
        "profile": ["NOT_SET"], "minimum_switches": 0, "resize_time": no_val(0),
        "scheduled_nodes": rec["sched_nodes"] or "", "selinux_context": "",
        "shared": [], "exclusive": ["TRUE"] if rec["exclusive"] else [],
        "oversubscribe": False, "sockets_per_board": 0, "sockets_per_node": no_val(None),
        "start_time": time_value(version, rec["start_time"]),
        "submit_time": time_value(version, rec["submit_time"]),
        "suspend_time": no_val(0),
        "time_limit": num(version, rec["time_limit_min"], infinite=unlimited),
        "time_minimum": no_val(0), "threads_per_core": no_val(None),
        "maximum_switch_wait_time": 0,
    })
    return out


def job_object(rec: dict[str, Any], version: Version) -> dict[str, Any]:
    return job_v39(rec, version) if version.no_val else job_v38(rec, version)


def _keys(text: str) -> tuple[str, ...]:
    return tuple(text.split())


V38_KEYS = _keys(
    "account accrue_time admin_comment array_job_id array_task_id array_max_tasks "
    "array_task_string association_id batch_features batch_flag batch_host flags burst_buffer "
    "burst_buffer_state cluster cluster_features command comment container contiguous core_spec "
    "thread_spec cores_per_socket billable_tres cpus_per_task cpu_frequency_minimum "
    "cpu_frequency_maximum cpu_frequency_governor cpus_per_tres deadline delay_boot dependency "
    "derived_exit_code eligible_time end_time excluded_nodes exit_code features "
    "federation_origin federation_siblings_active federation_siblings_viable gres_detail "
    "group_id group_name job_id job_state last_sched_evaluation licenses max_cpus max_nodes "
    "mcs_label memory_per_tres name nodes nice tasks_per_core tasks_per_node tasks_per_socket "
    "tasks_per_board cpus node_count tasks het_job_id het_job_id_set het_job_offset partition "
    "prefer memory_per_node memory_per_cpu minimum_cpus_per_node minimum_tmp_disk_per_node "
    "preempt_time pre_sus_time priority profile qos reboot required_nodes requeue resize_time "
    "restart_cnt resv_name shared show_flags sockets_per_board sockets_per_node start_time "
    "state_description state_reason standard_error standard_input standard_output submit_time "
    "suspend_time system_comment time_limit time_minimum threads_per_core tres_bind tres_freq "
    "tres_per_job tres_per_node tres_per_socket tres_per_task tres_req_str tres_alloc_str "
    "user_id user_name wckey current_working_directory"
)

V39_KEYS = _keys(
    "account accrue_time admin_comment allocating_node array_job_id array_task_id "
    "array_max_tasks array_task_string association_id batch_features batch_flag batch_host "
    "flags burst_buffer burst_buffer_state cluster cluster_features command comment container "
    "container_id contiguous core_spec thread_spec cores_per_socket billable_tres cpus_per_task "
    "cpu_frequency_minimum cpu_frequency_maximum cpu_frequency_governor cpus_per_tres cron "
    "deadline delay_boot dependency derived_exit_code eligible_time end_time excluded_nodes "
    "exit_code extra failed_node features federation_origin federation_siblings_active "
    "federation_siblings_viable gres_detail group_id group_name het_job_id het_job_id_set "
    "het_job_offset job_id job_resources job_size_str job_state last_sched_evaluation licenses "
    "mail_type mail_user max_cpus max_nodes mcs_label memory_per_tres name network nodes nice "
    "tasks_per_core tasks_per_tres tasks_per_node tasks_per_socket tasks_per_board cpus "
    "node_count tasks partition prefer memory_per_cpu memory_per_node minimum_cpus_per_node "
    "minimum_tmp_disk_per_node power preempt_time preemptable_time pre_sus_time hold priority "
    "profile qos reboot required_nodes minimum_switches requeue resize_time restart_cnt "
    "resv_name scheduled_nodes selinux_context shared exclusive oversubscribe show_flags "
    "sockets_per_board sockets_per_node start_time state_description state_reason "
    "standard_error standard_input standard_output submit_time suspend_time system_comment "
    "time_limit time_minimum threads_per_core tres_bind tres_freq tres_per_job tres_per_node "
    "tres_per_socket tres_per_task tres_req_str tres_alloc_str user_id user_name "
    "maximum_switch_wait_time wckey current_working_directory"
)
