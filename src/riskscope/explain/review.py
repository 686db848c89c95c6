"""Human review: every explanation report is a draft until a named reviewer decides.

The review book lives beside the run catalog (``<runs_dir>/catalog.duckdb``) in three
tables:

``reviews``        one row per report: run, subject, path, the report's SHA-256 when it
                   was drafted, status (``draft``, ``approved``, ``rejected``), reviewer,
                   note, time of the decision;
``review_events``  every submission and decision, in order (the audit trail);
``llm_exchanges``  every exchange with a language model: hashes of prompt and response,
                   the checker's verdict, which text was used and why -- never raw text,
                   so no PII reaches the catalog.

Every event is also appended to ``<runs_dir>/reviews.jsonl`` before it enters the
catalog; :meth:`ReviewBook.rebuild` replays that journal, so deleting the catalog (which
``riskscope runs list --rebuild`` recreates from run manifests) loses no review.

Rules: a reviewer is named (non-empty); a rejection needs a note; a decided report is
final (a new report is drafted instead); a report whose file changed since it was drafted
cannot be approved (its hash no longer matches what the reviewer would sign).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pandas as pd

from riskscope.exceptions import ParameterError, RunError
from riskscope.report.catalog import Catalog
from riskscope.report.run import sha256_file

__all__ = ["JOURNAL_NAME", "REVIEW_STATUSES", "ReviewBook", "ReviewItem"]

JOURNAL_NAME = "reviews.jsonl"
REVIEW_STATUSES = ("draft", "approved", "rejected")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS reviews (
    report_id VARCHAR PRIMARY KEY, run_id VARCHAR, subject VARCHAR, kind VARCHAR,
    path VARCHAR, report_sha256 VARCHAR, status VARCHAR, reviewer VARCHAR, note VARCHAR,
    created_at VARCHAR, decided_at VARCHAR
);
CREATE TABLE IF NOT EXISTS review_events (
    report_id VARCHAR, event_at VARCHAR, action VARCHAR, reviewer VARCHAR, note VARCHAR,
    report_sha256 VARCHAR
);
CREATE TABLE IF NOT EXISTS llm_exchanges (
    run_id VARCHAR, subject VARCHAR, logged_at VARCHAR, backend VARCHAR, model VARCHAR,
    prompt_sha256 VARCHAR, response_sha256 VARCHAR, verdict VARCHAR, used VARCHAR,
    reasons VARCHAR
);
"""
_EXCHANGE_FIELDS = ("run_id", "subject", "logged_at", "backend", "model", "prompt_sha256",
                    "response_sha256", "verdict", "used", "reasons")


def _now() -> str:
    # ISO text in UTC, one fixed width: sorts as time does and reads back without tz data
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class ReviewItem:
    """One report's review state (a row of ``reviews``)."""

    report_id: str
    run_id: str
    subject: str
    kind: str
    path: str
    report_sha256: str
    status: str
    reviewer: str | None
    note: str | None
    created_at: Any
    decided_at: Any

    @property
    def is_draft(self) -> bool:
        """True until a reviewer approved or rejected the report."""
        return self.status == "draft"


class ReviewBook:
    """Drafts, decisions and LLM exchanges of one runs folder.

    Parameters
    ----------
    runs_dir : path-like
        The runs folder whose catalog holds the review tables.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> report = d / "r.html"
    >>> _ = report.write_text("<p>Applicant 3 was denied.</p>")
    >>> book = ReviewBook(d)
    >>> book.submit("run1:applicant-3", run_id="run1", subject="applicant 3",
    ...             path=report).status
    'draft'
    >>> book.decide("run1:applicant-3", reviewer="A. Analyst", approve=True).status
    'approved'
    >>> book.items()["status"].tolist()
    ['approved']
    """

    def __init__(self, runs_dir: str | os.PathLike[str]) -> None:
        self.runs_dir = Path(runs_dir)
        self.catalog = Catalog(self.runs_dir)
        self.journal = self.runs_dir / JOURNAL_NAME

    # -- storage ---------------------------------------------------------------------------
    def _connect(self, *, read_only: bool = False):
        return self.catalog.connect(read_only=read_only, schema=None if read_only else _SCHEMA)

    def _has_tables(self) -> bool:
        if not self.catalog.path.exists():
            return False
        with self.catalog.connect(read_only=True) as con:
            names = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables")
                     .fetchall()}
        return "reviews" in names

    def _append(self, event: Mapping[str, Any]) -> None:
        # The journal first: a crash between the two leaves an event that rebuild() replays.
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        with open(self.journal, "ab") as fh:
            fh.write(orjson.dumps(dict(event), option=orjson.OPT_SORT_KEYS) + b"\n")
            fh.flush()
            os.fsync(fh.fileno())

    def _apply(self, con, event: Mapping[str, Any]) -> None:
        kind = event["event"]
        if kind == "llm_exchange":
            con.execute(f"INSERT INTO llm_exchanges VALUES ({', '.join('?' * 10)})",
                        [event.get("at" if k == "logged_at" else k) for k in _EXCHANGE_FIELDS])
            return
        con.execute("INSERT INTO review_events VALUES (?, ?, ?, ?, ?, ?)",
                    [event["report_id"], event["at"], kind, event.get("reviewer"),
                     event.get("note"), event.get("report_sha256")])
        if kind == "submit":
            con.execute(
                "INSERT OR REPLACE INTO reviews VALUES (?, ?, ?, ?, ?, ?, 'draft', NULL, NULL, "
                "?, NULL)",
                [event["report_id"], event["run_id"], event["subject"], event["kind"],
                 event["path"], event["report_sha256"], event["at"]])
        else:
            con.execute("UPDATE reviews SET status = ?, reviewer = ?, note = ?, decided_at = ? "
                        "WHERE report_id = ?",
                        [kind, event["reviewer"], event.get("note"), event["at"],
                         event["report_id"]])

    def _record(self, event: dict[str, Any]) -> None:
        self._append(event)
        with self._connect() as con:
            self._apply(con, event)

    # -- reviews ---------------------------------------------------------------------------
    def submit(self, report_id: str, *, run_id: str, subject: str,
               path: str | os.PathLike[str], kind: str = "decision") -> ReviewItem:
        """Register a written report as a draft awaiting review; return its item.

        Submitting the same id again (a report rewritten before anyone decided) replaces
        the draft; a decided report is final.
        """
        path = Path(path)
        if not path.is_file():
            raise RunError(f"Report '{path}' does not exist; write it before submitting it.")
        old = self._find(report_id)
        if old is not None and not old.is_draft:
            raise RunError(f"Report '{report_id}' was already {old.status} by {old.reviewer}; "
                           "draft a new report instead of resubmitting a decided one.")
        self._record({"event": "submit", "report_id": report_id, "run_id": run_id,
                      "subject": subject, "kind": kind, "path": str(path.resolve()),
                      "report_sha256": sha256_file(path), "at": _now()})
        return self.get(report_id)

    def decide(self, report_id: str, *, reviewer: str, approve: bool,
               note: str = "") -> ReviewItem:
        """Approve or reject a draft, as ``reviewer``; return the updated item."""
        reviewer = (reviewer or "").strip()
        if not reviewer:
            raise ParameterError("A review needs the reviewer's name; pass --reviewer NAME.")
        note = (note or "").strip()
        if not approve and not note:
            raise ParameterError(f"Rejecting '{report_id}' needs a note saying why; "
                                 "pass --note TEXT.")
        item = self.get(report_id)
        if not item.is_draft:
            raise RunError(f"Report '{report_id}' was already {item.status} by {item.reviewer} "
                           f"at {item.decided_at}; a decision is final.")
        path = Path(item.path)
        now_sha = sha256_file(path) if path.is_file() else None
        if approve and now_sha != item.report_sha256:
            raise RunError(f"Report '{report_id}' changed or vanished since it was drafted "
                           f"({path}); regenerate and resubmit it before approving.")
        self._record({"event": "approved" if approve else "rejected", "report_id": report_id,
                      "reviewer": reviewer, "note": note or None, "report_sha256": now_sha,
                      "at": _now()})
        return self.get(report_id)

    def _find(self, report_id: str) -> ReviewItem | None:
        if not self._has_tables():
            return None
        with self._connect(read_only=True) as con:
            row = con.execute("SELECT * FROM reviews WHERE report_id = ?", [report_id]).fetchone()
        return ReviewItem(*row) if row else None

    def get(self, report_id: str) -> ReviewItem:
        """One report's review state; an unknown id is a RunError naming the fix."""
        item = self._find(report_id)
        if item is None:
            raise RunError(f"No report '{report_id}' awaits review in '{self.runs_dir}'; "
                           "see `riskscope review list`.")
        return item

    def history(self, report_id: str) -> pd.DataFrame:
        """Every event of one report, oldest first."""
        self.get(report_id)
        with self._connect(read_only=True) as con:
            return con.sql("SELECT event_at, action, reviewer, note, report_sha256 "
                           "FROM review_events WHERE report_id = $1 ORDER BY event_at, rowid",
                           params=[report_id]).to_arrow_table().to_pandas()

    def items(self, *, status: str | None = None, run_id: str | None = None) -> pd.DataFrame:
        """Reports and their review state, oldest first; filtered by status or run."""
        cols = ["report_id", "run_id", "subject", "kind", "status", "reviewer", "decided_at",
                "path"]
        if status is not None and status not in REVIEW_STATUSES:
            raise ParameterError(f"--status must be one of {', '.join(REVIEW_STATUSES)}; "
                                 f"got {status!r}.")
        if not self._has_tables():
            return pd.DataFrame(columns=cols)
        where, params = [], []
        if status:
            where.append(f"status = ${len(params) + 1}")
            params.append(status)
        if run_id:
            where.append(f"run_id = ${len(params) + 1}")
            params.append(run_id)
        sql = f"SELECT {', '.join(cols)} FROM reviews"
        if where:
            sql += " WHERE " + " AND ".join(where)
        with self._connect(read_only=True) as con:
            return con.sql(sql + " ORDER BY created_at, report_id",
                           params=params or None).to_arrow_table().to_pandas()

    # -- LLM exchanges ---------------------------------------------------------------------
    def log_exchange(self, *, run_id: str, subject: str, backend: str, model: str,
                     prompt_sha256: str, response_sha256: str | None, verdict: str,
                     used: str, reasons: list[str] | tuple[str, ...] = ()) -> None:
        """Record one LLM exchange by its hashes and verdict (no raw text)."""
        self._record({"event": "llm_exchange", "run_id": run_id, "subject": subject,
                      "at": _now(), "backend": backend, "model": model,
                      "prompt_sha256": prompt_sha256, "response_sha256": response_sha256,
                      "verdict": verdict, "used": used,
                      "reasons": orjson.dumps(list(reasons)).decode()})

    def exchanges(self, *, run_id: str | None = None) -> pd.DataFrame:
        """Recorded LLM exchanges, oldest first."""
        if not self._has_tables():
            return pd.DataFrame(columns=list(_EXCHANGE_FIELDS))
        sql, params = "SELECT * FROM llm_exchanges", None
        if run_id:
            sql, params = sql + " WHERE run_id = $1", [run_id]
        with self._connect(read_only=True) as con:
            return con.sql(sql + " ORDER BY logged_at", params=params).to_arrow_table().to_pandas()

    # -- recovery --------------------------------------------------------------------------
    def rebuild(self) -> int:
        """Recreate the review tables from the journal; return the number of events."""
        if not self.journal.exists():
            return 0
        events = [orjson.loads(line) for line in self.journal.read_bytes().splitlines()
                  if line.strip()]
        with self._connect() as con:
            con.execute("BEGIN TRANSACTION")
            for table in ("reviews", "review_events", "llm_exchanges"):
                con.execute(f"DELETE FROM {table}")
            for event in events:
                self._apply(con, event)
            con.execute("COMMIT")
        return len(events)
