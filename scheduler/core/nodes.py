"""The node table: the snapshot's nodes as aligned numpy arrays.

Column ``i`` of every array is node ``names[i]``; nodes are sorted by name.
``rank`` is the preference order Slurm uses to pick among fitting nodes:
lower Weight first, then name.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from scheduler.core.types import NodeInfo

I64 = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]


def gres_name(key: str) -> str:
    return key.split(":", 1)[0]


@dataclass(frozen=True, slots=True)
class NodeTable:
    names: tuple[str, ...]
    index: dict[str, int]
    cpus: I64
    mem: I64
    gres_keys: tuple[str, ...]
    gres: I64  # [N, G]
    features: dict[str, Mask]
    weight: I64
    rank: I64  # position of each node in preference order
    available: Mask
    partitions: dict[str, Mask]
    used_cpus: I64
    used_mem: I64
    used_gres: I64  # [N, G]
    used_jobs: I64

    @property
    def size(self) -> int:
        return len(self.names)

    @classmethod
    def build(cls, nodes: Sequence[NodeInfo], extra_gres: Iterable[str] = ()) -> NodeTable:
        """Arrays for ``nodes``; ``extra_gres`` adds columns requested but present nowhere."""
        ordered = sorted(nodes, key=lambda n: n.name)
        n = len(ordered)
        keys = sorted({k for nd in ordered for k in nd.gres} | set(extra_gres))
        col = {k: i for i, k in enumerate(keys)}
        gres = np.zeros((n, len(keys)), dtype=np.int64)
        used_gres = np.zeros((n, len(keys)), dtype=np.int64)
        features: dict[str, Mask] = {}
        partitions: dict[str, Mask] = {}
        for i, nd in enumerate(ordered):
            for k, v in nd.gres.items():
                gres[i, col[k]] = v
            for k, v in nd.alloc_gres.items():
                if k in col:
                    used_gres[i, col[k]] = v
            for f in nd.features:
                features.setdefault(f, np.zeros(n, dtype=np.bool_))[i] = True
            for p in nd.partitions:
                partitions.setdefault(p, np.zeros(n, dtype=np.bool_))[i] = True

        def arr(values: Iterable[int]) -> I64:
            return np.fromiter(values, dtype=np.int64, count=n)

        weight = arr(nd.weight for nd in ordered)
        order = np.lexsort((np.arange(n), weight))  # names are already sorted
        rank = np.empty(n, dtype=np.int64)
        rank[order] = np.arange(n)
        return cls(
            names=tuple(nd.name for nd in ordered),
            index={nd.name: i for i, nd in enumerate(ordered)},
            cpus=arr(nd.cpus for nd in ordered),
            mem=arr(nd.mem_mb for nd in ordered),
            gres_keys=tuple(keys),
            gres=gres,
            features=features,
            weight=weight,
            rank=rank,
            available=np.fromiter((nd.available for nd in ordered), dtype=np.bool_, count=n),
            partitions=partitions,
            used_cpus=arr(nd.alloc_cpus for nd in ordered),
            used_mem=arr(nd.alloc_mem_mb for nd in ordered),
            used_gres=used_gres,
            used_jobs=arr(nd.alloc_jobs for nd in ordered),
        )

    def mask_of(self, names: Iterable[str]) -> Mask:
        m = np.zeros(self.size, dtype=np.bool_)
        for name in names:
            i = self.index.get(name)
            if i is not None:
                m[i] = True
        return m

    def partition_mask(self, name: str) -> Mask:
        found = self.partitions.get(name)
        return found if found is not None else np.zeros(self.size, dtype=np.bool_)
