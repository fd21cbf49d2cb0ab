"""Controller state. The database row is the truth; Channels messages only announce changes."""

from __future__ import annotations

from django.db import models


class JobState(models.TextChoices):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUSPENDED = "SUSPENDED"
    COMPLETING = "COMPLETING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    TIMEOUT = "TIMEOUT"
    NODE_FAIL = "NODE_FAIL"
    OUT_OF_MEMORY = "OUT_OF_MEMORY"
    PREEMPTED = "PREEMPTED"
    BOOT_FAIL = "BOOT_FAIL"
    DEADLINE = "DEADLINE"
    REQUEUED = "REQUEUED"


ACTIVE_STATES = (JobState.PENDING, JobState.RUNNING, JobState.SUSPENDED, JobState.COMPLETING)
FINISHED_STATES = tuple(s for s in JobState if s not in ACTIVE_STATES)


class ClusterSetting(models.Model):
    """One slurm.conf global parameter (ClusterName, MinJobAge, SchedulerType, ...)."""

    key = models.CharField(max_length=64, unique=True)
    value = models.TextField()

    def __str__(self) -> str:
        return f"{self.key}={self.value}"


class Node(models.Model):
    name = models.CharField(max_length=128, unique=True)
    hostname = models.CharField(max_length=255, blank=True)
    cpus = models.PositiveIntegerField(default=1)
    boards = models.PositiveIntegerField(default=1)
    sockets = models.PositiveIntegerField(default=1)
    cores_per_socket = models.PositiveIntegerField(default=1)
    threads_per_core = models.PositiveIntegerField(default=1)
    real_memory_mb = models.PositiveBigIntegerField(default=1)
    gres = models.CharField(max_length=255, blank=True)  # "gpu:a100:4,gpu:v100:2"
    features = models.CharField(max_length=255, blank=True)  # comma list
    weight = models.PositiveIntegerField(default=1)
    # Base state: UNKNOWN until the agent registers, then IDLE/MIXED/ALLOCATED derive
    # from allocations; DOWN when heartbeats stop or an admin says so.
    state = models.CharField(max_length=16, default="UNKNOWN")
    drain = models.BooleanField(default=False)
    reason = models.CharField(max_length=255, blank=True)
    reason_user = models.CharField(max_length=64, blank=True)
    reason_time = models.DateTimeField(null=True, blank=True)
    alloc_cpus = models.PositiveIntegerField(default=0)
    alloc_memory_mb = models.PositiveBigIntegerField(default=0)
    alloc_gres = models.JSONField(default=dict)  # {"gpu:a100": [0, 1]}
    cpu_load = models.FloatField(default=0.0)
    free_memory_mb = models.BigIntegerField(null=True, blank=True)
    last_heartbeat = models.DateTimeField(null=True, blank=True)
    boot_time = models.DateTimeField(null=True, blank=True)
    agent_start_time = models.DateTimeField(null=True, blank=True)
    last_busy = models.DateTimeField(null=True, blank=True)
    version = models.CharField(max_length=32, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class NodeEvent(models.Model):
    """A span of a node out of service (Slurm's node event, ``sacctmgr show event``): DOWN,
    DRAIN (drained) or DRNG (draining), as ``node_state_string_compact`` names them.

    Keyed by the node's name and carrying its TRES counts, as slurmdbd's event table
    does, so that the history outlives a node taken out of slurm.conf. ``time_end`` is
    None while the state lasts.
    """

    node_name = models.CharField(max_length=128)
    state = models.CharField(max_length=16)
    reason = models.CharField(max_length=255, blank=True)
    user = models.CharField(max_length=64, blank=True)
    tres = models.JSONField(default=dict)  # {"cpu": 8, "mem": 64000, "gres/gpu": 2}
    time_start = models.DateTimeField()
    time_end = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["time_start", "id"]
        indexes = [models.Index(fields=["node_name", "time_end"]),
                   models.Index(fields=["time_start"])]

    def __str__(self) -> str:
        return f"{self.node_name} {self.state} {self.time_start:%Y-%m-%dT%H:%M:%S}"


class Partition(models.Model):
    name = models.CharField(max_length=64, unique=True)
    nodes = models.ManyToManyField(Node, related_name="partitions", blank=True)
    nodes_expr = models.CharField(max_length=1024, blank=True)
    is_default = models.BooleanField(default=False)
    state = models.CharField(max_length=16, default="UP")  # UP, DOWN, DRAIN, INACTIVE
    max_time_min = models.PositiveIntegerField(null=True, blank=True)  # None = UNLIMITED
    default_time_min = models.PositiveIntegerField(null=True, blank=True)
    max_nodes = models.PositiveIntegerField(null=True, blank=True)
    min_nodes = models.PositiveIntegerField(default=1)
    allow_groups = models.CharField(max_length=1024, blank=True)  # "" = ALL
    priority_tier = models.PositiveIntegerField(default=1)
    priority_job_factor = models.PositiveIntegerField(default=1)
    oversubscribe = models.CharField(max_length=16, default="NO")

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class Job(models.Model):
    """A job, or one task of a job array. Kept after it ends: it is the accounting record."""

    id = models.BigIntegerField(primary_key=True)
    array_job_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    array_task_id = models.PositiveIntegerField(null=True, blank=True)
    # On the meta row of an array (the task that holds the array's own id while
    # tasks remain unsplit): the pending task ids, e.g. "2-9", and the % throttle.
    array_pending = models.TextField(blank=True)
    array_max_tasks = models.PositiveIntegerField(null=True, blank=True)
    array_spec = models.CharField(max_length=1024, blank=True)  # as submitted: "0-99%10"
    name = models.CharField(max_length=255)
    user = models.CharField(max_length=64, db_index=True)
    uid = models.IntegerField()
    group = models.CharField(max_length=64)
    gid = models.IntegerField()
    account = models.CharField(max_length=64, blank=True)
    partition = models.CharField(max_length=64)
    qos = models.CharField(max_length=64, default="normal")
    state = models.CharField(max_length=16, choices=JobState.choices, default=JobState.PENDING,
                             db_index=True)
    reason = models.CharField(max_length=64, default="None")
    priority = models.BigIntegerField(default=0)
    # Set by an operator (`scontrol update JobId=.. Priority=N`): the cycle keeps it
    # instead of computing one. 0 with hold means held, as in Slurm.
    admin_priority = models.BigIntegerField(null=True, blank=True)
    nice = models.IntegerField(default=0)
    hold = models.CharField(max_length=8, blank=True)  # "", "user", "admin"
    dependency = models.CharField(max_length=1024, blank=True)
    begin_time = models.DateTimeField(null=True, blank=True)
    submit_time = models.DateTimeField()
    eligible_time = models.DateTimeField(null=True, blank=True)
    start_time = models.DateTimeField(null=True, blank=True)
    end_time = models.DateTimeField(null=True, blank=True)
    time_limit_min = models.PositiveIntegerField(null=True, blank=True)
    time_min_min = models.PositiveIntegerField(null=True, blank=True)
    # Which of -n / -c the user gave (SLURM_NTASKS / SLURM_CPUS_PER_TASK follow them).
    ntasks_set = models.BooleanField(default=False)
    cpus_per_task_set = models.BooleanField(default=False)
    nodes_min = models.PositiveIntegerField(default=1)
    nodes_max = models.PositiveIntegerField(null=True, blank=True)
    ntasks = models.PositiveIntegerField(default=1)
    cpus_per_task = models.PositiveIntegerField(default=1)
    ntasks_per_node = models.PositiveIntegerField(null=True, blank=True)
    mem_per_node_mb = models.PositiveBigIntegerField(null=True, blank=True)
    mem_per_cpu_mb = models.PositiveBigIntegerField(null=True, blank=True)
    gres = models.CharField(max_length=255, blank=True)
    constraint = models.CharField(max_length=1024, blank=True)
    exclusive = models.BooleanField(default=False)
    requeue = models.BooleanField(default=True)
    restarts = models.PositiveIntegerField(default=0)
    req_nodes = models.CharField(max_length=1024, blank=True)
    exc_nodes = models.CharField(max_length=1024, blank=True)
    reservation = models.CharField(max_length=64, blank=True)
    # Allocation: compressed hostlist plus per-node detail
    # {"n1": {"cpus": 2, "mem_mb": 200, "gpus": [0]}}.
    nodes = models.CharField(max_length=1024, blank=True)
    alloc = models.JSONField(default=dict)
    batch_host = models.CharField(max_length=128, blank=True)
    # False for an allocation (salloc): no script and no batch step; its nodes stay held
    # until salloc relinquishes them, it is cancelled, or its time limit passes.
    batch = models.BooleanField(default=True)
    script = models.TextField(blank=True)
    argv = models.JSONField(default=list)
    environment = models.JSONField(default=dict)
    work_dir = models.CharField(max_length=4096)
    submit_dir = models.CharField(max_length=4096, blank=True)  # sbatch's cwd (before -D)
    command = models.CharField(max_length=4096, blank=True)  # the script's path, if a file
    stdout = models.CharField(max_length=4096, blank=True)  # patterns as given
    stderr = models.CharField(max_length=4096, blank=True)
    stdin = models.CharField(max_length=4096, blank=True)
    open_mode = models.CharField(max_length=8, default="truncate")
    signal = models.CharField(max_length=32, blank=True)
    comment = models.CharField(max_length=1024, blank=True)
    wckey = models.CharField(max_length=64, blank=True)
    mail_type = models.CharField(max_length=128, blank=True)
    mail_user = models.CharField(max_length=255, blank=True)
    submit_host = models.CharField(max_length=255, blank=True)
    exit_code = models.IntegerField(default=0)
    exit_signal = models.IntegerField(default=0)
    derived_exit_code = models.IntegerField(default=0)
    cancelled_by = models.IntegerField(null=True, blank=True)
    kill_requested = models.BooleanField(default=False)
    cpu_time_s = models.FloatField(default=0.0)
    max_rss_kb = models.BigIntegerField(default=0)
    # The backfill plan's expected start and nodes for a pending job (squeue --start).
    sched_start_time = models.DateTimeField(null=True, blank=True)
    sched_nodes = models.CharField(max_length=1024, blank=True)
    # SQLite only: a random number that triggers draw anew whenever the row is written
    # (scheduler/row_versions.py), so that a cycle re-reads only the pending rows that
    # changed. PostgreSQL has that for free (``xmin``) and leaves this 0.
    row_version = models.BigIntegerField(default=0, editable=False)

    class Meta:
        indexes = [models.Index(fields=["state", "submit_time"]),
                   models.Index(fields=["end_time"])]

    def __str__(self) -> str:
        return self.display_id

    @property
    def display_id(self) -> str:
        if self.array_task_id is not None:
            return f"{self.array_job_id}_{self.array_task_id}"
        return str(self.id)


class Reservation(models.Model):
    """An advanced reservation (`scontrol create reservation`)."""

    name = models.CharField(max_length=64, unique=True)
    start_time = models.DateTimeField()
    end_time = models.DateTimeField()
    nodes = models.ManyToManyField(Node, related_name="reservations", blank=True)
    users = models.CharField(max_length=1024, blank=True)  # comma list; "-u" prefix denies
    accounts = models.CharField(max_length=1024, blank=True)
    flags = models.CharField(max_length=255, blank=True)  # MAINT, IGNORE_JOBS, ...
    partition = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["start_time", "name"]

    def __str__(self) -> str:
        return self.name


class JobStep(models.Model):
    """A step of a job (`batch`, `extern`, or srun's `0`, `1`, ...)."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="steps")
    step = models.CharField(max_length=16)
    name = models.CharField(max_length=200, blank=True)  # srun's command basename
    state = models.CharField(max_length=16, default=JobState.RUNNING)
    nodes = models.CharField(max_length=1024, blank=True)
    start_time = models.DateTimeField(null=True, blank=True)
    end_time = models.DateTimeField(null=True, blank=True)
    exit_code = models.IntegerField(default=0)
    exit_signal = models.IntegerField(default=0)
    cpus = models.PositiveIntegerField(default=0)  # srun steps' CPUs; 0: the job's
    cancelled_by = models.IntegerField(null=True, blank=True)  # uid (scancel N.S, or the job's)
    cpu_time_s = models.FloatField(default=0.0)
    max_rss_kb = models.BigIntegerField(default=0)
    # While the step runs, cpu_time_s and max_rss_kb above and these hold the agent's
    # latest sample (sstat); its end leaves the final cpu_time_s and max_rss_kb.
    ntasks = models.PositiveIntegerField(default=1)
    pids = models.JSONField(default=list)
    rss_kb = models.BigIntegerField(default=0)
    vmsize_kb = models.BigIntegerField(default=0)
    max_vmsize_kb = models.BigIntegerField(default=0)
    read_bytes = models.BigIntegerField(default=0)
    write_bytes = models.BigIntegerField(default=0)
    usage_time = models.DateTimeField(null=True, blank=True)

    class Meta:
        unique_together = [("job", "step")]

    def __str__(self) -> str:
        return f"{self.job_id}.{self.step}"


class JobIdCounter(models.Model):
    """A single row handing out job ids (FirstJobId onwards), locked per submit."""

    next_id = models.BigIntegerField(default=1)

    def __str__(self) -> str:
        return f"next job id {self.next_id}"


class AgentOrder(models.Model):
    """The durable outbox to node agents: re-sent on every sync until acked."""

    node = models.ForeignKey(Node, on_delete=models.CASCADE, related_name="orders")
    kind = models.CharField(max_length=16)  # launch, signal, terminate, limit
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="orders")
    payload = models.JSONField(default=dict)
    created = models.DateTimeField(auto_now_add=True)
    acked = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["node", "acked"])]

    def __str__(self) -> str:
        return f"{self.kind} job {self.job_id} on {self.node_id}"
