"""Locate the shared real-data folder (``../shared/data``) that tests and benchmarks may use."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["ENV_VAR", "shared_data_dir"]

#: Environment variable that names the shared data folder explicitly.
ENV_VAR = "RISKSCOPE_SHARED_DATA"


def _candidates() -> list[Path]:
    # The checkout lives beside shared/ (``<root>/main`` and ``<root>/shared``); look from
    # the working directory and from the installed package, whichever is in the checkout.
    starts = [Path.cwd(), Path(__file__).resolve()]
    out: list[Path] = []
    for start in starts:
        for parent in [start, *start.parents]:
            out.append(parent / "shared" / "data")
            out.append(parent.parent / "shared" / "data")
    return out


def shared_data_dir(explicit: str | os.PathLike[str] | None = None) -> Path | None:
    """Return the shared data folder, or ``None`` when it is absent.

    Precedence: ``explicit`` argument, then ``$RISKSCOPE_SHARED_DATA``, then a
    ``shared/data`` folder beside the checkout (found from the working directory or the
    installed package).

    Parameters
    ----------
    explicit : path-like, optional
        A folder to use instead of searching.

    Returns
    -------
    pathlib.Path or None
        The folder if it exists and has a ``README.md``; otherwise ``None``.

    Examples
    --------
    >>> from riskscope.io.shared import shared_data_dir
    >>> d = shared_data_dir("/nonexistent")
    >>> d is None
    True
    """
    if explicit is not None:
        p = Path(explicit)
        return p if p.is_dir() else None
    env = os.environ.get(ENV_VAR)
    if env:
        p = Path(env)
        return p if p.is_dir() else None
    for cand in _candidates():
        if (cand / "README.md").is_file():
            return cand.resolve()
    return None
