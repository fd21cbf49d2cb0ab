"""Trace-driven simulation through the scheduling core (pure: no Django, no clock).

``swf`` reads Standard Workload Format traces, ``engine`` replays them event by
event through :func:`scheduler.core.cycle.run_cycle`, ``metrics`` sums up the
result (wait, bounded slowdown, utilisation, per user).
"""
