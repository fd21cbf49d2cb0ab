"""The controller (slurmctld): nodes, partitions, jobs, the scheduling cycle."""
