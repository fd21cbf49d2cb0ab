"""Drover: a Slurm-compatible workload manager (client-side library and commands)."""
