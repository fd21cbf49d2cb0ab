"""What this node offers: CPUs, memory, GPUs (slurmd -C).

Options given on the command line win (emulated nodes on one machine);
otherwise the values are detected. GPUs come from ``nvidia-smi`` when it is on
PATH, reported as Slurm gres, e.g. ``gpu:h100:4``.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
from collections import Counter
from dataclasses import dataclass, field

import psutil

log = logging.getLogger(__name__)


@dataclass
class Hardware:
    cpus: int
    boards: int
    sockets: int
    cores_per_socket: int
    threads_per_core: int
    real_memory_mb: int
    gres: str
    features: str
    gpus: list[int] = field(default_factory=list)


_VENDOR_WORDS = {"nvidia", "tesla", "quadro"}


def gpu_type(name: str) -> str:
    """Slurm-style short type of a GPU name: 'NVIDIA H100 80GB HBM3' → 'h100'.

    The first word holding a digit ends the name ('A100-SXM4-80GB' → 'a100');
    words before it are kept ('NVIDIA GeForce RTX 3090' → 'geforce_rtx_3090').
    """
    words = [w for w in name.lower().split() if w not in _VENDOR_WORDS]
    kept: list[str] = []
    for word in words:
        if re.search(r"\d", word):
            kept.append(word.split("-")[0])
            break
        kept.append(word)
    return "_".join(kept) or "gpu"


def gres_string(names: list[str]) -> str:
    counts = Counter(gpu_type(n) for n in names)
    return ",".join(f"gpu:{t}:{n}" for t, n in sorted(counts.items()))


def detect_gpus() -> tuple[list[int], list[str]]:
    """(indices, names) of the NVIDIA GPUs, empty when there are none."""
    if shutil.which("nvidia-smi") is None:
        return [], []
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=index,name,memory.total", "--format=csv,noheader"],
            capture_output=True, text=True, timeout=20, check=True,
        ).stdout  # fmt: skip
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("nvidia-smi failed: %s", exc)
        return [], []
    indices, names = [], []
    for line in out.splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) >= 2 and parts[0].isdigit():
            indices.append(int(parts[0]))
            names.append(parts[1])
    return indices, names


def _topology() -> tuple[int, int, int]:
    """(sockets, cores per socket, threads per core) of this machine."""
    logical = os.cpu_count() or 1
    physical = psutil.cpu_count(logical=False) or logical
    sockets = 1
    try:
        with open("/proc/cpuinfo") as f:
            ids = {line.split(":")[1].strip() for line in f if line.startswith("physical id")}
        sockets = max(1, len(ids))
    except OSError:
        pass
    threads = max(1, logical // physical)
    return sockets, max(1, physical // sockets), threads


def detect(
    *,
    cpus: int | None = None,
    memory_mb: int | None = None,
    gres: str | None = None,
    features: str | None = None,
) -> Hardware:
    if cpus:
        sockets, cores, threads = 1, cpus, 1
    else:
        sockets, cores, threads = _topology()
        cpus = os.cpu_count() or sockets * cores * threads
    if not memory_mb:
        memory_mb = psutil.virtual_memory().total // (1024 * 1024)
    gpus: list[int] = []
    if gres is None:
        gpus, names = detect_gpus()
        gres = gres_string(names)
    else:
        gpus = list(range(_gpu_count(gres)))
    return Hardware(
        cpus=cpus,
        boards=1,
        sockets=sockets,
        cores_per_socket=cores,
        threads_per_core=threads,
        real_memory_mb=memory_mb,
        gres=gres,
        features=features or "",
        gpus=gpus,
    )


def _gpu_count(gres: str) -> int:
    """Number of GPUs in a gres string such as 'gpu:h100:2,gpu:1'."""
    total = 0
    for item in filter(None, (g.strip() for g in gres.split(","))):
        parts = item.split(":")
        if parts[0] == "gpu":
            last = parts[-1].split("(")[0]
            total += int(last) if len(parts) > 1 and last.isdigit() else 1
    return total
