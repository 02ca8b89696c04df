"""A training's status: one enum for the engine, the tables and the code that reads them.

A module of its own, importing nothing, so that reading a results directory (results.py,
the plots, the report) knows the statuses without loading the engine.
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """trials.csv's `status`. A StrEnum: Status.OK == "ok", and it is written as "ok"."""

    OK = "ok"  # trained in full
    PRUNED = "pruned"  # stopped early (the pruner, or not promoted past a rung): scored with what it reached
    PROMOTED = "promoted"  # a rung of successive halving that went on to the next: scored at that rung
    FAILED = "failed"  # the objective raised, or returned no usable score
    DIVERGED = "diverged"  # the objective says the training diverged
    TIMEOUT = "timeout"  # ran past parallel.timeout

    @property
    def scored(self) -> bool:
        """Whether a training of this status has a score (the others rank at -inf)."""
        return self in SCORED_STATUSES


# Statuses with a score; the others (FAILED_STATUSES) have none: the engine ranks them at
# fitness -inf, the tables leave their fitness empty.
SCORED_STATUSES = frozenset({Status.OK, Status.PRUNED, Status.PROMOTED})
FAILED_STATUSES = frozenset(Status) - SCORED_STATUSES
# What an objective may return ("promoted" is the search's own word for a rung that went on).
OBJECTIVE_STATUSES = tuple(status for status in Status if status is not Status.PROMOTED)
