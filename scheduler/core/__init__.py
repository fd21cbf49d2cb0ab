"""The pure scheduling core: snapshots in, decisions out.

No Django, no clock, no randomness: :func:`scheduler.core.cycle.run_cycle`
gives the same :class:`~scheduler.core.types.Decision` for the same snapshot,
config and ``now``. The live controller (scheduler/cycle.py) and the trace
simulator both drive it.
"""
