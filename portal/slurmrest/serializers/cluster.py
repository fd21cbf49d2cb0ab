"""Ping, node, partition and diag objects per version (goldens 098, 101-104 for v0.0.38)."""

from __future__ import annotations

from typing import Any

from portal.slurmrest.serializers.values import no_val, num, time_value
from portal.slurmrest.versions import Version
from scheduler import config


def ping(version: Version, hostname: str) -> dict[str, Any]:
    if not version.no_val:
        return {"hostname": hostname, "ping": "UP", "status": 0, "mode": "primary"}
    out: dict[str, Any] = {"hostname": hostname, "pinged": "UP", "latency": 0,
                           "mode": "primary"}
    if version.minor >= 41:
        out.update({"responding": True, "primary": True})
    return out


def _node_tres(rec: dict[str, Any]) -> str:
    return f"cpu={rec['cpus']},mem={rec['real_memory_mb']}M,billing={rec['cpus']}"


def _used_tres(rec: dict[str, Any]) -> str:
    if not rec["alloc_cpus"]:
        return ""
    return f"cpu={rec['alloc_cpus']},mem={rec['alloc_memory_mb']}M"


def node(version: Version, rec: dict[str, Any]) -> dict[str, Any]:
    if version.no_val:
        return _node_v39(version, rec)
    return {
        "architecture": rec["arch"], "burstbuffer_network_address": "",
        "boards": rec["boards"], "boot_time": rec["boot_time"] or 0, "comment": "",
        "cores": rec["cores_per_socket"], "cpu_binding": 0,
        "cpu_load": int(rec["cpu_load"] * 100), "extra": "",
        "free_memory": rec["free_memory_mb"], "cpus": rec["cpus"],
        "last_busy": rec["last_busy"] or 0, "features": rec["features"],
        "active_features": rec["features"], "gres": rec["gres"], "gres_drained": "N/A",
        "gres_used": rec["gres_used"], "mcs_label": "", "name": rec["name"],
        "next_state_after_reboot": "invalid", "address": rec["name"],
        "hostname": rec["name"], "state": rec["state"].lower(),
        "state_flags": list(rec["state_flags"]), "next_state_after_reboot_flags": [],
        "operating_system": rec["os"], "owner": None, "partitions": list(rec["partitions"]),
        "port": 0, "real_memory": rec["real_memory_mb"], "reason": rec["reason"],
        "reason_changed_at": rec["reason_time"] or 0,
        "reason_set_by_user": rec["reason_user"] or None,
        "slurmd_start_time": rec["slurmd_start_time"] or 0, "sockets": rec["sockets"],
        "threads": rec["threads_per_core"], "temporary_disk": 0, "weight": rec["weight"],
        "tres": _node_tres(rec), "slurmd_version": rec["version"],
        "alloc_memory": rec["alloc_memory_mb"], "alloc_cpus": rec["alloc_cpus"],
        "idle_cpus": rec["cpus"] - rec["alloc_cpus"], "tres_used": _used_tres(rec),
        "tres_weighted": float(rec["alloc_cpus"]),
    }


def _node_v39(version: Version, rec: dict[str, Any]) -> dict[str, Any]:
    base = rec["base_state"] if rec["state"] in ("DRAINED", "DRAINING") else rec["state"]
    return {
        "architecture": rec["arch"], "burstbuffer_network_address": "",
        "boards": rec["boards"], "boot_time": time_value(version, rec["boot_time"]),
        "cluster_name": config.get("ClusterName"), "cores": rec["cores_per_socket"],
        "specialized_cores": 0, "cpu_binding": 0, "cpu_load": int(rec["cpu_load"] * 100),
        "free_mem": no_val(rec["free_memory_mb"]), "cpus": rec["cpus"],
        "effective_cpus": rec["cpus"], "specialized_cpus": "", "energy": {},
        "external_sensors": {}, "extra": "", "power": {},
        "features": [f for f in rec["features"].split(",") if f],
        "active_features": [f for f in rec["features"].split(",") if f],
        "gres": rec["gres"], "gres_drained": "N/A", "gres_used": rec["gres_used"],
        "last_busy": time_value(version, rec["last_busy"]), "mcs_label": "",
        "specialized_memory": 0, "name": rec["name"], "next_state_after_reboot": [],
        "address": rec["name"], "hostname": rec["name"],
        "state": [base, *rec["state_flags"]], "partitions": list(rec["partitions"]),
        "port": 0, "real_memory": rec["real_memory_mb"], "comment": "",
        "reason": rec["reason"], "reason_changed_at": time_value(version, rec["reason_time"]),
        "reason_set_by_user": rec["reason_user"], "resume_after": no_val(None),
        "reservation": "", "alloc_memory": rec["alloc_memory_mb"],
        "alloc_cpus": rec["alloc_cpus"], "alloc_idle_cpus": rec["cpus"] - rec["alloc_cpus"],
        "tres_used": _used_tres(rec), "tres_weighted": float(rec["alloc_cpus"]),
        "slurmd_start_time": time_value(version, rec["slurmd_start_time"]),
        "sockets": rec["sockets"], "threads": rec["threads_per_core"], "temporary_disk": 0,
        "weight": rec["weight"], "tres": _node_tres(rec), "version": rec["version"],
    }


def _part_tres(rec: dict[str, Any], memory_mb: int) -> str:
    cpus, n = rec["total_cpus"], rec["total_nodes"]
    return f"cpu={cpus},mem={memory_mb}M,node={n},billing={cpus}"


def partition(version: Version, rec: dict[str, Any], memory_mb: int) -> dict[str, Any]:
    groups = "" if rec["allow_groups"] == "ALL" else ",".join(rec["allow_groups"])
    max_nodes, max_time = rec["max_nodes"], rec["max_time_min"]
    if version.no_val:
        return _partition_v39(version, rec, memory_mb, groups)
    return {
        "flags": ["default"] if rec["default"] else [], "preemption_mode": ["disabled"],
        "allowed_allocation_nodes": "", "allowed_accounts": "", "allowed_groups": groups,
        "allowed_qos": "", "alternative": "", "billing_weights": "",
        "default_memory_per_cpu": None, "default_memory_per_node": None,
        "default_time_limit": rec["default_time_min"], "denied_accounts": "",
        "denied_qos": "", "preemption_grace_time": 0, "maximum_cpus_per_node": -1,
        "maximum_memory_per_cpu": None, "maximum_memory_per_node": None,
        "maximum_nodes_per_job": -1 if max_nodes is None else max_nodes,
        "max_time_limit": -1 if max_time is None else max_time,
        "min nodes per job": rec["min_nodes"], "name": rec["name"], "nodes": rec["nodes"],
        "over_time_limit": None, "priority_job_factor": rec["priority_job_factor"],
        "priority_tier": rec["priority_tier"], "qos": "", "state": rec["state"],
        "total_cpus": rec["total_cpus"], "total_nodes": rec["total_nodes"],
        "tres": _part_tres(rec, memory_mb),
    }


def _partition_v39(version: Version, rec: dict[str, Any], memory_mb: int,
                   groups: str) -> dict[str, Any]:
    max_nodes, max_time = rec["max_nodes"], rec["max_time_min"]
    return {
        "nodes": {"allowed_allocation": "", "configured": rec["nodes"],
                  "total": rec["total_nodes"]},
        "accounts": {"allowed": "", "deny": ""}, "groups": {"allowed": groups},
        "qos": {"allowed": "", "deny": "", "assigned": ""}, "alternate": "",
        "tres": {"billing_weights": "", "configured": _part_tres(rec, memory_mb)},
        "cluster": config.get("ClusterName"),
        "cpus": {"task_binding": 0, "total": rec["total_cpus"]},
        "defaults": {"memory_per_cpu": 0, "partition_memory_per_cpu": no_val(None),
                     "partition_memory_per_node": no_val(None),
                     "time": num(version, rec["default_time_min"]), "job": ""},
        "grace_time": 0,
        "maximums": {"cpus_per_node": no_val(None, infinite=True),
                     "cpus_per_socket": no_val(None, infinite=True), "memory_per_cpu": 0,
                     "partition_memory_per_cpu": no_val(None),
                     "partition_memory_per_node": no_val(None),
                     "nodes": no_val(max_nodes, infinite=max_nodes is None), "shares": 1,
                     "oversubscribe": {"jobs": 1, "flags": []},
                     "time": no_val(max_time, infinite=max_time is None),
                     "over_time_limit": no_val(None)},
        "minimums": {"nodes": rec["min_nodes"]}, "name": rec["name"], "node_sets": "",
        "priority": {"job_factor": rec["priority_job_factor"], "tier": rec["priority_tier"]},
        "timeouts": {"resume": no_val(None), "suspend": no_val(None)},
        "partition": {"state": [rec["state"]]}, "suspend_time": no_val(None),
        "flags": ["default"] if rec["default"] else [],
    }


#: The statistics that are times (the rest are counts).
_DIAG_TIMES = ("req_time", "req_time_start", "job_states_ts", "bf_when_last_cycle")


def diag(version: Version, figures: dict[str, Any]) -> dict[str, Any]:
    """sdiag's statistics from ``scheduler.stats.figures``, RPC counts included."""
    stats: dict[str, Any] = {
        "parts_packed": 1,
        "agent_count": 0, "agent_thread_count": 0, "dbd_agent_queue_size": 0,
    }
    stats.update({k: v for k, v in figures.items() if not k.startswith("bf_last_depth")})
    stats.update({k: time_value(version, figures[k]) for k in _DIAG_TIMES})
    if version.no_val:
        stats.update({"pending_rpcs": [], "pending_rpcs_by_hostlist": [],
                      "bf_exit": {}, "schedule_exit": {}})
        # v0.0.39+: the average is a no_val number; a type also has its queue figures
        stats["rpcs_by_message_type"] = [
            {**r, "queued": 0, "dropped": 0, "cycle_last": 0, "cycle_max": 0,
             "average_time": no_val(r["average_time"])}
            for r in figures["rpcs_by_message_type"]]
        stats["rpcs_by_user"] = [{**r, "average_time": no_val(r["average_time"])}
                                 for r in figures["rpcs_by_user"]]
    return stats
