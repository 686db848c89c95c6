"""The run catalog: a DuckDB file (``runs/catalog.duckdb``) indexing every run.

Manifests stay the source of truth; the catalog is an index over them that can be
rebuilt at any time with :meth:`Catalog.rebuild` (``riskscope runs list --rebuild``).
Each run is recorded in one transaction, so a reader sees all of a run's rows or none.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pandas as pd

from riskscope.exceptions import RunError
from riskscope.report.run import FAILED_SUFFIX, as_float

__all__ = ["Catalog", "CATALOG_NAME", "flatten_metrics"]

CATALOG_NAME = "catalog.duckdb"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id VARCHAR PRIMARY KEY,
    pipeline VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    parent VARCHAR,
    started_at TIMESTAMPTZ,
    finished_at TIMESTAMPTZ,
    duration_s DOUBLE,
    seed UBIGINT,
    path VARCHAR NOT NULL,
    parameters VARCHAR,
    versions VARCHAR,
    error VARCHAR
);
CREATE TABLE IF NOT EXISTS metrics (run_id VARCHAR, name VARCHAR, value DOUBLE);
CREATE TABLE IF NOT EXISTS artifacts (
    run_id VARCHAR, path VARCHAR, kind VARCHAR, bytes BIGINT, sha256 VARCHAR
);
CREATE TABLE IF NOT EXISTS inputs (run_id VARCHAR, path VARCHAR, bytes BIGINT, sha256 VARCHAR);
"""


def flatten_metrics(metrics: Mapping[str, Any], prefix: str = "") -> dict[str, float]:
    """Flatten nested metric dicts to ``{"a.b": 1.0}``, keeping only real numbers.

    Examples
    --------
    >>> flatten_metrics({"auc": 0.8, "ci": {"low": 0.7, "high": 0.9}, "note": "x"})
    {'auc': 0.8, 'ci.low': 0.7, 'ci.high': 0.9}
    """
    out: dict[str, float] = {}
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten_metrics(value, prefix=name + "."))
        elif (num := as_float(value)) is not None:
            out[name] = num
    return out


def _frame(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> pd.DataFrame:
    # Through Arrow: DuckDB's own .df() trips a pandas 3.1 deprecation warning.
    return con.sql(sql, params=params or None).to_arrow_table().to_pandas()


class Catalog:
    """Index of the runs in one runs folder.

    Parameters
    ----------
    runs_dir : path-like
        The runs folder; the catalog file is ``<runs_dir>/catalog.duckdb``.

    Examples
    --------
    >>> import tempfile
    >>> from riskscope.report.run import start_run
    >>> d = tempfile.mkdtemp()
    >>> with start_run("example", runs_dir=d, seed=0) as run:
    ...     run.log_metrics(rows=10)
    >>> cat = Catalog(d)
    >>> cat.list_runs()[["pipeline", "status"]].values.tolist()
    [['example', 'complete']]
    >>> cat.metrics(run.run_id)
    {'rows': 10.0}
    """

    def __init__(self, runs_dir: str | os.PathLike[str]) -> None:
        self.runs_dir = Path(runs_dir)
        self.path = self.runs_dir / CATALOG_NAME

    @contextmanager
    def connect(self, *, read_only: bool = False,
                schema: str | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection to the catalog file, for tables kept beside the run index.

        ``schema`` (``CREATE TABLE IF NOT EXISTS ...`` statements) is applied first on a
        writable connection; the run tables always are. Waits briefly for a writer's lock.
        """
        with self._connect(read_only=read_only) as con:
            if schema and not read_only:
                con.execute(schema)
            yield con

    @contextmanager
    def _connect(self, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        # DuckDB allows one writing process; retry briefly when another run holds the lock.
        last: Exception | None = None
        for attempt in range(40):
            try:
                con = duckdb.connect(str(self.path), read_only=read_only)
                break
            except duckdb.IOException as exc:
                last = exc
                time.sleep(min(0.05 * (attempt + 1), 0.5))
        else:
            raise RunError(
                f"Run catalog '{self.path}' is locked or unreadable ({last}); "
                "wait for the other run to finish or rebuild with `riskscope runs list --rebuild`."
            )
        try:
            if not read_only:
                con.execute(_SCHEMA)
            yield con
        finally:
            con.close()

    def record(self, manifest: Mapping[str, Any], path: str | os.PathLike[str]) -> None:
        """Insert or replace one run (all its rows in a single transaction)."""
        run_id = manifest["run_id"]
        with self._connect() as con:
            con.execute("BEGIN TRANSACTION")
            try:
                for table in ("runs", "metrics", "artifacts", "inputs"):
                    con.execute(f"DELETE FROM {table} WHERE run_id = ?", [run_id])
                con.execute(
                    "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        run_id, manifest["pipeline"], manifest["status"], manifest.get("parent"),
                        manifest.get("started_at"), manifest.get("finished_at"),
                        manifest.get("duration_s"), manifest.get("seed"), str(Path(path).resolve()),
                        orjson.dumps(manifest.get("parameters") or {}).decode(),
                        orjson.dumps(manifest.get("versions") or {}).decode(),
                        manifest.get("error"),
                    ],
                )
                metric_rows = list(flatten_metrics(manifest.get("metrics") or {}).items())
                if metric_rows:
                    con.executemany("INSERT INTO metrics VALUES (?, ?, ?)",
                                    [(run_id, k, v) for k, v in metric_rows])
                arts = manifest.get("artifacts") or []
                if arts:
                    con.executemany(
                        "INSERT INTO artifacts VALUES (?, ?, ?, ?, ?)",
                        [(run_id, a["path"], a.get("kind"), a.get("bytes"), a.get("sha256"))
                         for a in arts],
                    )
                ins = manifest.get("inputs") or []
                if ins:
                    con.executemany(
                        "INSERT INTO inputs VALUES (?, ?, ?, ?)",
                        [(run_id, i["path"], i.get("bytes"), i.get("sha256")) for i in ins],
                    )
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise

    def rebuild(self) -> int:
        """Re-index every ``manifest.json`` under the runs folder; return the run count."""
        count = 0
        for man_path in sorted(self.runs_dir.glob("*/manifest.json")):
            folder = man_path.parent
            if folder.name.startswith("."):
                continue  # staging folders are not runs
            try:
                manifest = orjson.loads(man_path.read_bytes())
            except orjson.JSONDecodeError:
                continue
            self.record(manifest, folder)
            count += 1
        return count

    def _ensure(self) -> bool:
        if self.path.exists():
            return True
        # No catalog but manifests exist (copied runs, deleted catalog): index them.
        if any(self.runs_dir.glob("*/manifest.json")):
            self.rebuild()
            return True
        return False

    def list_runs(self, *, pipeline: str | None = None, limit: int | None = None) -> pd.DataFrame:
        """Runs, newest first, with their key metrics count and path."""
        cols = ["run_id", "pipeline", "status", "started_at", "duration_s", "seed", "path"]
        if not self._ensure():
            return pd.DataFrame(columns=cols)
        sql = f"SELECT {', '.join(cols)} FROM runs"
        params: list[Any] = []
        if pipeline:
            sql += " WHERE pipeline = $1"
            params.append(pipeline)
        sql += " ORDER BY started_at DESC, run_id DESC"
        if limit:
            sql += f" LIMIT {int(limit)}"
        with self._connect(read_only=True) as con:
            return _frame(con, sql, params)

    def resolve_id(self, run_id: str) -> str:
        """Return the full id for ``run_id`` or a unique prefix / suffix of it."""
        if not self._ensure():
            raise RunError(f"No runs recorded in '{self.runs_dir}'; run a pipeline first.")
        with self._connect(read_only=True) as con:
            ids = [r[0] for r in con.execute("SELECT run_id FROM runs").fetchall()]
        if run_id in ids:
            return run_id
        if run_id.endswith(FAILED_SUFFIX) and run_id[: -len(FAILED_SUFFIX)] in ids:
            return run_id[: -len(FAILED_SUFFIX)]
        hits = [i for i in ids if i.startswith(run_id) or i.endswith(run_id)]
        if len(hits) == 1:
            return hits[0]
        if not hits:
            raise RunError(
                f"Run '{run_id}' not found in '{self.path}'; see `riskscope runs list` for ids."
            )
        raise RunError(
            f"Run id '{run_id}' is ambiguous ({len(hits)} matches: {', '.join(hits[:4])}); "
            "give more of it."
        )

    def get(self, run_id: str) -> dict[str, Any]:
        """One run's catalog row plus its metrics, artifacts and inputs."""
        full = self.resolve_id(run_id)
        with self._connect(read_only=True) as con:
            out = _frame(con, "SELECT * FROM runs WHERE run_id = $1", [full]).iloc[0].to_dict()
            out["metrics"] = self.metrics(full, con=con)
            out["artifacts"] = _frame(
                con, "SELECT path, kind, bytes, sha256 FROM artifacts WHERE run_id = $1 "
                "ORDER BY path", [full])
            out["inputs"] = _frame(
                con, "SELECT path, bytes, sha256 FROM inputs WHERE run_id = $1 ORDER BY path",
                [full])
        out["parameters"] = orjson.loads(out["parameters"] or "{}")
        out["versions"] = orjson.loads(out["versions"] or "{}")
        return out

    def metrics(self, run_id: str, *, con: duckdb.DuckDBPyConnection | None = None) -> dict:
        """A run's numeric metrics as ``{name: value}``."""
        if con is None:
            with self._connect(read_only=True) as c:
                return self.metrics(run_id, con=c)
        rows = con.execute(
            "SELECT name, value FROM metrics WHERE run_id = ? ORDER BY rowid", [run_id]
        ).fetchall()
        return dict(rows)
