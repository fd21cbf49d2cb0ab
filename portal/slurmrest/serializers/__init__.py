"""Our records (``scheduler.records``) in slurmrestd's per-version shapes, and back."""
