"""The only writers of controller state.

Every state change is a ``do_*`` function here: it validates, writes inside a
transaction, and announces the change after commit (``scheduler.events``) and
asks for a scheduling cycle (``scheduler.kick``). Views, consumers and tasks
call these; they never ``.save()`` a model themselves.

Modules by noun: ``submit`` (new jobs), ``jobs`` (cancel, signal, hold,
release, requeue, update, end), ``job_request`` (updates of a pending job's size,
placement and files), ``nodes`` (admin state changes, agent
registration), ``agent`` (the agent's sync: heartbeats, events, acks, orders),
``config`` (slurm.conf import). Errors are ``errors.SlurmError`` with Slurm's
``slurm_strerror`` text and number.
"""
