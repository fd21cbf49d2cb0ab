"""slurmrestd-compatible REST API under /slurm/v0.0.38/ ... /slurm/v0.0.41/ (SLURM-COMPAT 29-32).

One implementation serves every version: the views call ``scheduler.actions``
and render our records (``scheduler.records``) through the per-version
serializers in ``serializers/``, chosen by the ``Version`` row of ``versions.py``.
"""
