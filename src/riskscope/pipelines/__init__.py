"""Each seed's method as one short file of named stages (profile, demo; ids, credit, apt next).

A pipeline module reads top to bottom as its method: a list of :class:`Stage` objects,
each calling into the room that owns the work (io, features, models, report, ...).
"""

from riskscope.pipelines._stages import Stage, StageProgress, run_stages

__all__ = ["Stage", "StageProgress", "run_stages"]
