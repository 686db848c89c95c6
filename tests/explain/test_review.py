"""Human review book: drafts, decisions, audit trail, LLM exchange log, journal replay."""

from __future__ import annotations

from pathlib import Path

import pytest

from riskscope.exceptions import ParameterError, RunError
from riskscope.explain.review import ReviewBook


def _report(tmp_path: Path, name: str = "r.html", text: str = "<p>denied</p>") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_report_is_draft_until_a_named_reviewer_decides(tmp_path: Path):
    book = ReviewBook(tmp_path / "runs")
    item = book.submit("run1:a1", run_id="run1", subject="applicant 1",
                       path=_report(tmp_path))
    assert item.is_draft and item.reviewer is None
    with pytest.raises(ParameterError, match=r"needs the reviewer's name"):
        book.decide("run1:a1", reviewer="  ", approve=True)
    with pytest.raises(ParameterError, match=r"Rejecting 'run1:a1' needs a note"):
        book.decide("run1:a1", reviewer="Bo", approve=False)
    assert book.get("run1:a1").is_draft  # failed attempts change nothing
    done = book.decide("run1:a1", reviewer=" Bo ", approve=False, note="reason 2 is wrong")
    assert (done.status, done.reviewer, done.note) == ("rejected", "Bo", "reason 2 is wrong")
    with pytest.raises(RunError, match=r"already rejected by Bo .* a decision is final"):
        book.decide("run1:a1", reviewer="Cy", approve=True)
    with pytest.raises(RunError, match=r"already rejected by Bo; draft a new report"):
        book.submit("run1:a1", run_id="run1", subject="applicant 1", path=_report(tmp_path))
    hist = book.history("run1:a1")
    assert hist["action"].tolist() == ["submit", "rejected"]


def test_a_changed_report_cannot_be_approved(tmp_path: Path):
    book = ReviewBook(tmp_path)
    report = _report(tmp_path)
    book.submit("r", run_id="run", subject="s", path=report)
    report.write_text("<p>approved</p>")  # edited after drafting
    with pytest.raises(RunError, match=r"changed or vanished since it was drafted"):
        book.decide("r", reviewer="Bo", approve=True)
    # resubmitting the new text makes it a fresh draft that can be approved
    book.submit("r", run_id="run", subject="s", path=report)
    assert book.decide("r", reviewer="Bo", approve=True).status == "approved"


def test_listing_filters_and_unknown_ids(tmp_path: Path):
    book = ReviewBook(tmp_path)
    assert book.items().empty
    with pytest.raises(RunError, match=r"No report 'nope' awaits review"):
        book.get("nope")
    for k in range(3):
        book.submit(f"run{k % 2}:x{k}", run_id=f"run{k % 2}", subject=f"x{k}",
                    path=_report(tmp_path, f"r{k}.html", f"text {k}"))
    book.decide("run0:x0", reviewer="Bo", approve=True)
    assert book.items(status="draft")["report_id"].tolist() == ["run1:x1", "run0:x2"]
    assert book.items(run_id="run0")["report_id"].tolist() == ["run0:x0", "run0:x2"]
    with pytest.raises(ParameterError, match=r"--status must be one of draft, approved"):
        book.items(status="done")


def test_llm_exchanges_hold_hashes_only_and_journal_rebuilds_everything(tmp_path: Path):
    book = ReviewBook(tmp_path)
    book.submit("r1", run_id="run", subject="applicant 9", path=_report(tmp_path))
    book.log_exchange(run_id="run", subject="applicant 9", backend="openai", model="m",
                      prompt_sha256="a" * 64, response_sha256="b" * 64, verdict="rejected",
                      used="template", reasons=["number 0.71 matches no fact"])
    book.decide("r1", reviewer="Bo", approve=True)
    ex = book.exchanges(run_id="run")
    assert ex[["used", "verdict"]].values.tolist() == [["template", "rejected"]]
    before = (book.items(), book.exchanges())
    (tmp_path / "catalog.duckdb").unlink()  # the catalog is an index: lose it
    assert ReviewBook(tmp_path).rebuild() == 3  # submit, exchange, approve
    after = ReviewBook(tmp_path)
    assert after.get("r1").status == "approved"
    assert after.items().equals(before[0])  # times included: they are the journal's
    assert after.exchanges().equals(before[1])


def test_review_cli_lists_shows_and_decides(tmp_path: Path):
    from typer.testing import CliRunner

    from riskscope.cli import app

    runs = tmp_path / "runs"
    ReviewBook(runs).submit("run7:applicant-3", run_id="run7", subject="applicant 3",
                            path=_report(tmp_path))
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, ["--runs-dir", str(runs), "review", *args])

    res = invoke("list", "--status", "draft")
    assert res.exit_code == 0 and "run7:applicant-3" in res.output and "draft" in res.output
    res = invoke("reject", "run7:applicant-3", "--reviewer", "Bo")
    assert res.exit_code == 1 and res.output.startswith("error: Rejecting 'run7:applicant-3'")
    assert len(res.output.strip().splitlines()) == 1
    res = invoke("approve", "run7:applicant-3", "--reviewer", "Bo", "--note", "checked")
    assert res.exit_code == 0 and "approved by Bo" in res.output
    res = invoke("show", "run7:applicant-3")
    assert res.exit_code == 0 and "approved by Bo: checked" in res.output
    assert "submit" in res.output
    res = invoke("show", "run7:nobody")
    assert res.exit_code == 1 and "No report 'run7:nobody' awaits review" in res.output
    assert invoke("list", "--status", "draft").output.startswith("No reports match")
