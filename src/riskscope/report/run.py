"""Run directories: one folder per pipeline run, made visible only when complete.

A run is staged in ``runs/.partial-<run_id>/``. Every artifact in it is written
atomically; ``manifest.json`` is written last and the folder is then renamed to
``runs/<run_id>/`` in one step. So a folder named like a run always holds a whole run:
an interrupted process leaves only a ``.partial-*`` folder, and a failed run is moved to
``runs/<run_id>.failed/`` with its error in the manifest. Run ids are unique (a numeric
suffix is added on a clash), so no run ever overwrites another.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.metadata as md
import os
import platform
import re
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd

from riskscope.exceptions import ParameterError, RunError
from riskscope.report.atomic import atomic_path, write_bytes, write_parquet

__all__ = ["Run", "start_run", "sha256_file", "package_versions", "PARTIAL_PREFIX"]

PARTIAL_PREFIX = ".partial-"
FAILED_SUFFIX = ".failed"
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
# Always recorded; anything else is recorded only if the run imported it.
_CORE_PACKAGES = (
    "riskscope", "numpy", "pandas", "pyarrow", "polars", "duckdb", "scikit-learn",
    "matplotlib", "jinja2", "pydantic",
)
_OPTIONAL_MODULES = {
    "lightgbm": "lightgbm", "xgboost": "xgboost-cpu", "imblearn": "imbalanced-learn",
    "torch": "torch", "torch_geometric": "torch-geometric", "gensim": "gensim",
    "optbinning": "optbinning", "shap": "shap", "llama_cpp": "llama-cpp-python",
}


def sha256_file(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    """Return the hex SHA-256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def package_versions() -> dict[str, str]:
    """Versions of Python, the core packages and every optional package loaded so far."""
    out = {"python": platform.python_version()}
    names = list(_CORE_PACKAGES)
    names += [dist for mod, dist in _OPTIONAL_MODULES.items() if mod in sys.modules]
    for name in names:
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _jsonable(obj: Any) -> Any:
    # orjson handles numpy scalars and datetimes; Paths and sets need a nudge.
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, set | frozenset):
        return sorted(obj)
    raise TypeError(f"Type {type(obj).__name__} is not JSON serialisable")


def dumps(obj: Any) -> bytes:
    """Serialise ``obj`` to indented JSON bytes (numpy and datetimes allowed)."""
    return orjson.dumps(
        obj,
        default=_jsonable,
        option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS,
    )


class Run:
    """A pipeline run being recorded; use :func:`start_run` rather than this directly.

    Attributes
    ----------
    run_id : str
        ``<UTC timestamp>-<pipeline>``, e.g. ``20261123T071512Z-profile``.
    path : pathlib.Path
        Where artifacts go now: the staging folder until :meth:`finish`, then the final one.
    """

    def __init__(
        self,
        pipeline: str,
        *,
        runs_dir: str | os.PathLike[str],
        seed: int,
        parameters: Mapping[str, Any] | None = None,
        parent: str | None = None,
        clock: Callable[[], dt.datetime] = _utcnow,
    ) -> None:
        if not _SAFE_NAME.match(pipeline):
            raise ParameterError(f"pipeline name must be a simple slug; got {pipeline!r}.")
        self.pipeline = pipeline
        self.runs_dir = Path(runs_dir)
        self.seed = int(seed)
        self.parameters = dict(parameters or {})
        self.parent = parent
        self.started_at = clock()
        self._t0 = time.perf_counter()
        self.inputs: list[dict[str, Any]] = []
        self.metrics: dict[str, Any] = {}
        self.extra: dict[str, Any] = {}
        self._reports: dict[str, Any] = {}
        self.status = "running"
        try:
            self.runs_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RunError(
                f"Cannot create runs folder '{self.runs_dir}' ({exc.strerror}); "
                "pass --runs-dir with a writable folder."
            ) from None
        self.run_id, self.path = self._reserve(self.started_at.strftime("%Y%m%dT%H%M%SZ"))

    def _reserve(self, stamp: str) -> tuple[str, Path]:
        base = f"{stamp}-{self.pipeline}"
        for n in range(1, 10_000):
            run_id = base if n == 1 else f"{base}-{n}"
            if self._taken(run_id):
                continue
            staging = self.runs_dir / f"{PARTIAL_PREFIX}{run_id}"
            try:
                staging.mkdir()  # atomic: fails if another process took the name
            except FileExistsError:
                continue
            return run_id, staging
        raise RunError(f"Too many runs named '{base}-*' in '{self.runs_dir}'.")

    def _taken(self, run_id: str) -> bool:
        return any(
            (self.runs_dir / name).exists()
            for name in (run_id, run_id + FAILED_SUFFIX, PARTIAL_PREFIX + run_id)
        )

    # ---------------------------------------------------------------- recording
    def add_input(self, path: str | os.PathLike[str], *, role: str = "data") -> dict[str, Any]:
        """Record an input file (or every file of a folder) with its SHA-256."""
        p = Path(path)
        files = sorted(q for q in p.rglob("*") if q.is_file()) if p.is_dir() else [p]
        for f in files:
            entry = {"path": str(f.resolve()), "role": role, "bytes": f.stat().st_size,
                     "sha256": sha256_file(f)}
            self.inputs.append(entry)
        return self.inputs[-1] if files else {}

    def log_metrics(self, metrics: Mapping[str, Any] | None = None, **kw: Any) -> None:
        """Add metrics (numbers, or nested dicts of numbers) to the manifest."""
        self.metrics.update(metrics or {}, **kw)

    def _artifact(self, rel: str) -> Path:
        parts = Path(rel).parts
        if not parts or any(not _SAFE_NAME.match(s) for s in parts):
            raise ParameterError(f"artifact name must be a relative path of slugs; got {rel!r}.")
        return self.path / rel

    @contextmanager
    def artifact(self, rel: str) -> Iterator[Path]:
        """Yield a temporary path for artifact ``rel``; it appears only if the block succeeds.

        For writers that need a file name (model files, DuckDB, matplotlib).
        """
        with atomic_path(self._artifact(rel)) as tmp:
            yield tmp

    def write_table(self, name: str, df: pd.DataFrame) -> Path:
        """Write a DataFrame to ``tables/<name>.parquet`` (zstd) atomically."""
        return write_parquet(df, self._artifact(f"tables/{name}.parquet"))

    def write_json(self, rel: str, obj: Any) -> Path:
        """Write ``obj`` as indented JSON to ``rel`` atomically."""
        return write_bytes(self._artifact(rel), dumps(obj))

    def write_bytes(self, rel: str, data: bytes) -> Path:
        """Write raw bytes (a PNG, a model file) to ``rel`` atomically."""
        return write_bytes(self._artifact(rel), data)

    def write_report(self, report: Any, *, name: str = "report.html") -> Path:
        """Save the report's plots under ``plots/`` now and its HTML when the run closes.

        The HTML carries the manifest summary (status, duration, metrics), which is only
        final when the run closes, so it is rendered then, just before ``manifest.json``.
        Returns the path the report will have inside the run folder.
        """
        for fig_name, png in report.figures():
            self.write_bytes(f"plots/{fig_name}.png", png)
        target = self._artifact(name)
        self._reports[name] = report
        return target

    # ------------------------------------------------------------------ closing
    def _artifacts(self) -> list[dict[str, Any]]:
        out = []
        for f in sorted(self.path.rglob("*")):
            if f.is_file() and not f.name.startswith(".tmp-") and f.name != "manifest.json":
                rel = f.relative_to(self.path).as_posix()
                out.append({"path": rel, "kind": rel.split("/")[0] if "/" in rel else f.suffix[1:],
                            "bytes": f.stat().st_size, "sha256": sha256_file(f)})
        return out

    def manifest(self) -> dict[str, Any]:
        """The run's manifest as it stands now."""
        now = _utcnow()
        return {
            "run_id": self.run_id,
            "pipeline": self.pipeline,
            "status": self.status,
            "parent": self.parent,
            "started_at": self.started_at.isoformat(),
            "finished_at": now.isoformat() if self.status != "running" else None,
            "duration_s": round(time.perf_counter() - self._t0, 3),
            "seed": self.seed,
            "parameters": self.parameters,
            "inputs": self.inputs,
            "metrics": self.metrics,
            "versions": package_versions(),
            "platform": {"system": platform.platform(), "machine": platform.machine(),
                         "cpus": os.cpu_count()},
            "command": sys.argv if sys.argv and sys.argv[0] else None,
            **self.extra,
        }

    def _close(self, status: str, final: Path, error: str | None = None) -> dict[str, Any]:
        self.status = status
        man = self.manifest()
        if error is not None:
            man["error"] = error
        for name, report in self._reports.items():
            try:
                report.write(self.path / name, manifest=man)
            except Exception as exc:  # a broken report must not hide the run's own outcome
                if status == "complete":
                    raise
                man.setdefault("report_errors", []).append(f"{name}: {exc}")
        man["artifacts"] = self._artifacts()
        write_bytes(self.path / "manifest.json", dumps(man))
        # The staging name was reserved atomically, so the final name is normally free; if
        # a concurrent run published it meanwhile, move aside rather than overwrite.
        n = 1
        while final.exists():
            n += 1
            final = final.with_name(f"{final.name}-{n}")
        os.rename(self.path, final)
        self.path = final
        return man

    def finish(self) -> dict[str, Any]:
        """Write the manifest, publish the folder as ``runs/<run_id>/`` and return the manifest."""
        return self._close("complete", self.runs_dir / self.run_id)

    def fail(self, exc: BaseException) -> dict[str, Any]:
        """Record the error and move the staging folder to ``runs/<run_id>.failed/``."""
        status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
        msg = f"{type(exc).__name__}: {exc}"
        self.extra["traceback"] = "".join(traceback.format_exception(exc))[-4000:]
        return self._close(status, self.runs_dir / (self.run_id + FAILED_SUFFIX), error=msg)


@contextmanager
def start_run(
    pipeline: str,
    *,
    runs_dir: str | os.PathLike[str],
    seed: int,
    parameters: Mapping[str, Any] | None = None,
    parent: str | None = None,
    catalog: bool = True,
    clock: Callable[[], dt.datetime] = _utcnow,
) -> Iterator[Run]:
    """Record a pipeline run: publish it on success, mark it failed on error.

    On leaving the block the run is recorded in ``<runs_dir>/catalog.duckdb`` (with its
    status), then any exception is re-raised.

    Examples
    --------
    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> with start_run("example", runs_dir=d, seed=1, parameters={"k": 3}) as run:
    ...     run.log_metrics(accuracy=0.5)
    >>> run.path.name == run.run_id, (run.path / "manifest.json").is_file()
    (True, True)
    """
    from riskscope.report.catalog import Catalog  # local: the catalog imports this module

    run = Run(pipeline, runs_dir=runs_dir, seed=seed, parameters=parameters,
              parent=parent, clock=clock)
    try:
        yield run
    except BaseException as exc:
        manifest = run.fail(exc)
        if catalog:
            Catalog(run.runs_dir).record(manifest, run.path)
        raise
    manifest = run.finish()
    if catalog:
        Catalog(run.runs_dir).record(manifest, run.path)


def as_float(value: Any) -> float | None:
    """Return ``value`` as a float if it is a real number, else ``None``."""
    if isinstance(value, bool | int | float | np.integer | np.floating):
        return float(value)
    return None
