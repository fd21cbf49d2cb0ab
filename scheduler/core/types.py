"""The shapes that cross the core's boundary: a snapshot in, a decision out.

Times are integer epoch seconds; memory is MB; generic resources are keyed
``"name"`` or ``"name:type"`` (``{"gpu:a100": 4}`` on a node, ``{"gpu": 2}`` or
``{"gpu:a100": 1}`` in a request, both per node as ``--gres`` means).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

# Pending reasons, spelled as Slurm prints them (squeue %r).
NONE = "None"
PRIORITY = "Priority"
RESOURCES = "Resources"
PARTITION_TIME_LIMIT = "PartitionTimeLimit"
PARTITION_NODE_LIMIT = "PartitionNodeLimit"
PARTITION_CONFIG = "PartitionConfig"
PARTITION_DOWN = "PartitionDown"
PARTITION_INACTIVE = "PartitionInactive"
REQ_NODE_NOT_AVAIL = "ReqNodeNotAvail"
BAD_CONSTRAINTS = "BadConstraints"
ACCESS_DENIED = "AccessDenied"

@dataclass(frozen=True, slots=True)
class NodeInfo:
    """One node: its configured size, what is allocated now, and whether jobs may start on it.

    ``available`` is False for DOWN, DRAIN(ED/ING), UNKNOWN and FUTURE nodes:
    they count for "could this ever fit" (PartitionConfig) but take no new work.
    """

    name: str
    cpus: int
    mem_mb: int
    gres: Mapping[str, int] = field(default_factory=dict)
    features: frozenset[str] = frozenset()
    weight: int = 1
    available: bool = True
    partitions: frozenset[str] = frozenset()
    alloc_cpus: int = 0
    alloc_mem_mb: int = 0
    alloc_gres: Mapping[str, int] = field(default_factory=dict)
    #: Running jobs on the node (an exclusive request needs zero).
    alloc_jobs: int = 0


@dataclass(frozen=True, slots=True)
class NodeGrant:
    """What one job holds (or will hold) on one node."""

    node: str
    cpus: int
    mem_mb: int
    gres: Mapping[str, int] = field(default_factory=dict)
    ntasks: int = 1


@dataclass(frozen=True, slots=True)
class RunningJob:
    """A job holding resources, released at ``end_time`` (None: no limit, never in the plan)."""

    id: int
    grants: tuple[NodeGrant, ...]
    end_time: int | None
    exclusive: bool = False
    # Who it counts against for QOS and association limits (scheduler/core/limits.py).
    user: str = ""
    account: str = ""
    qos: str = ""


@dataclass(frozen=True, slots=True)
class PartitionInfo:
    name: str
    state: str = "UP"  # UP, DOWN, DRAIN, INACTIVE
    max_time_s: int | None = None  # None = UNLIMITED
    default_time_s: int | None = None
    max_nodes: int | None = None
    min_nodes: int = 1
    priority_tier: int = 1
    priority_job_factor: int = 1
    oversubscribe: str = "NO"  # NO, EXCLUSIVE, YES:n, FORCE:n
    allow_groups: frozenset[str] | None = None  # None = ALL


@dataclass(frozen=True, slots=True)
class PendingJob:
    """A job (or one array task) waiting to start.

    ``eligible`` False means the glue found a hold, dependency, begin time or
    array throttle; ``reason`` then says which and the core passes it through.
    ``nodes_max`` None means "as many as the tasks need". Memory: ``mem_per_node_mb``
    wins over ``mem_per_cpu_mb``; both None means no memory is accounted;
    ``mem_per_node_mb == 0`` means all of each node's memory (``--mem=0``).
    """

    id: int
    submit_time: int
    partitions: tuple[str, ...]
    priority: int = 0
    user: str = ""
    groups: frozenset[str] = frozenset()
    nice: int = 0
    array_task_id: int | None = None
    nodes_min: int = 1
    nodes_max: int | None = None
    ntasks: int = 1
    cpus_per_task: int = 1
    ntasks_per_node: int | None = None
    mem_per_node_mb: int | None = None
    mem_per_cpu_mb: int | None = None
    gres: Mapping[str, int] = field(default_factory=dict)
    constraint: str = ""
    exclusive: bool = False
    req_nodes: frozenset[str] = frozenset()
    exc_nodes: frozenset[str] = frozenset()
    time_limit_s: int | None = None  # None: the partition's default, else its max, else none
    eligible: bool = True
    reason: str = NONE
    eligible_time: int | None = None
    # Priority/multifactor inputs, each a factor in [0, 1] worked out by the glue
    # (scheduler/priority_load.py) or a simulator: see scheduler/core/priority.py.
    account: str = ""
    qos: str = ""
    fairshare: float = 0.0  # accounting.core.fairshare (Fair Tree or classic)
    qos_factor: float = 0.0  # QOS priority / the largest QOS priority
    assoc_factor: float = 0.0  # association priority / the largest one
    site_factor: int = 0  # PrioritySiteFactorPlugin's value (none in Drover: 0)

    @property
    def key(self) -> tuple[int, int | None]:
        return (self.id, self.array_task_id)


@dataclass(frozen=True, slots=True)
class LimitSet:
    """One QOS's or association's limits (None / missing key: no limit).

    TRES maps are keyed by Slurm's TRES names: ``cpu``, ``mem`` (MB), ``node``,
    ``gres/gpu``, ``gres/gpu:a100``. Association ``max_*`` limits are inherited
    down the tree by the loader, so the user association's set is the effective one.
    """

    grp_tres: Mapping[str, int] = field(default_factory=dict)
    grp_jobs: int | None = None
    max_tres_per_job: Mapping[str, int] = field(default_factory=dict)
    max_tres_per_node: Mapping[str, int] = field(default_factory=dict)
    max_tres_per_user: Mapping[str, int] = field(default_factory=dict)
    max_jobs_per_user: int | None = None
    max_wall_s: int | None = None


@dataclass(frozen=True, slots=True)
class LimitTables:
    """QOS and association limits for the limits stage (scheduler/limits_load.py builds it).

    ``assocs`` is keyed ``(account, user)`` for user associations and
    ``(account, "")`` for accounts; ``parents`` maps an account to its parent.
    """

    qos: Mapping[str, LimitSet] = field(default_factory=dict)
    assocs: Mapping[tuple[str, str], LimitSet] = field(default_factory=dict)
    parents: Mapping[str, str] = field(default_factory=dict)
    #: AccountingStorageEnforce has ``limits`` (association limits) / ``qos`` (QOS limits).
    enforce_assoc: bool = True
    enforce_qos: bool = True


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything one cycle needs, loaded in one go (scheduler/snapshot.py builds it)."""

    nodes: tuple[NodeInfo, ...]
    partitions: tuple[PartitionInfo, ...]
    running: tuple[RunningJob, ...]
    pending: tuple[PendingJob, ...]
    #: QOS and association limits; None: nothing is enforced.
    limits: LimitTables | None = None


@dataclass(frozen=True, slots=True)
class SchedConfig:
    """The slurm.conf parameters the core reads (SchedulerParameters keys lower-cased)."""

    backfill: bool = True  # SchedulerType=sched/backfill (False: sched/builtin, FIFO only)
    bf_window_s: int = 86_400  # bf_window (minutes in slurm.conf) in seconds
    bf_resolution_s: int = 60
    bf_max_job_user: int = 0  # jobs of one user the backfill examines (0: no limit)
    bf_max_job_assoc: int = 0  # ... of one association (user and account)
    bf_max_job_part: int = 0  # ... of one partition
    bf_max_job_test: int = 0  # ... in all (Slurm's default is 500; 0: every job)
    bf_max_job_start: int = 0  # jobs the backfill starts in one cycle (0: no limit)
    bf_min_age_reserve: int = 0  # seconds runnable before a job holds a reservation
    bf_min_prio_reserve: int = 0  # the least priority that holds a reservation
    priority_type: str = "priority/basic"
    weight_age: int = 0
    weight_partition: int = 0
    max_age_s: int = 7 * 86_400
    weight_fairshare: int = 0
    weight_job_size: int = 0
    weight_qos: int = 0
    weight_assoc: int = 0
    #: PriorityWeightTRES as {"cpu": 1000, "mem": 2000, "gres/gpu": 3000}.
    weight_tres: Mapping[str, int] = field(default_factory=dict)
    favor_small: bool = False  # PriorityFavorSmall
    #: PriorityFlags, upper-cased: SMALL_RELATIVE_TO_TIME, NO_FAIR_TREE, NO_NORMAL_PART, ...
    priority_flags: frozenset[str] = frozenset()
    decay_half_life_s: int = 7 * 86_400  # PriorityDecayHalfLife (0: no decay)
    usage_reset_period: str = "NONE"  # PriorityUsageResetPeriod


@dataclass(frozen=True, slots=True)
class Start:
    """Start this job now on these nodes (the first grant's node is the batch host)."""

    job_id: int
    array_task_id: int | None
    partition: str
    grants: tuple[NodeGrant, ...]
    end_time: int | None


@dataclass(frozen=True, slots=True)
class Planned:
    """The backfill plan's expected start of a pending job (squeue --start)."""

    start_time: int
    nodes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Decision:
    starts: tuple[Start, ...] = ()
    #: Every pending job's reason (job id of the row; an array's meta row once).
    reasons: Mapping[int, str] = field(default_factory=dict)
    planned: Mapping[int, Planned] = field(default_factory=dict)
    priorities: Mapping[int, int] = field(default_factory=dict)
    #: How many of ``starts`` the backfill pass made (behind a job that had to wait), the
    #: rest being the main pass's (sdiag's "backfilled jobs").
    backfilled: int = 0
    #: Whether the backfill pass ran (and so ``planned`` holds every reservation).
    backfill: bool = False
