"""Named pipeline stages and the loop that runs them with progress reporting."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["Stage", "StageProgress", "run_stages"]


class StageProgress(Protocol):
    """Receives progress; the CLI implements it with a rich progress bar."""

    def start(self, pipeline: str, total: int) -> None: ...

    def stage(self, name: str) -> None: ...

    def done(self) -> None: ...


@dataclass(frozen=True)
class Stage:
    """One named step of a pipeline; ``fn`` reads and extends the shared state dict."""

    name: str
    fn: Callable[[dict[str, Any]], None]


def run_stages(
    pipeline: str,
    stages: Sequence[Stage],
    state: dict[str, Any],
    progress: StageProgress | None = None,
) -> dict[str, Any]:
    """Run ``stages`` in order on ``state`` and return it.

    Examples
    --------
    >>> st = run_stages("p", [Stage("one", lambda s: s.update(x=1)),
    ...                       Stage("two", lambda s: s.update(y=s["x"] + 1))], {})
    >>> st["y"]
    2
    """
    if progress is not None:
        progress.start(pipeline, len(stages))
    try:
        for stage in stages:
            if progress is not None:
                progress.stage(stage.name)
            stage.fn(state)
    finally:
        if progress is not None:
            progress.done()
    return state
