"""The command-line tools: sbatch, squeue, scancel, sinfo, sacct, scontrol, drover."""
