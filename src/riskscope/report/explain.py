"""Reports of explained decisions: one page per decision, one page per explain run.

A decision page shows the delivered narrative, how it was produced (template, or an LLM
rewrite the checker passed, or the template after the checker rejected the rewrite and
why), the reason codes and every fact the text may cite, with its id. Each page is a
draft until a reviewer approves it (``riskscope review``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from riskscope.report.html import Report

__all__ = ["build_decision_report", "build_run_report", "facts_frame"]


def facts_frame(facts: Mapping[str, Any]) -> pd.DataFrame:
    """The facts of a report record as a table: id, kind, name, value, direction, value of
    the feature.

    Examples
    --------
    >>> facts_frame({"facts": [{"id": "d", "kind": "decision", "name": "decision",
    ...              "value": "deny", "direction": None, "feature_value": None}]}).shape
    (1, 6)
    """
    rows = [{"id": f["id"], "kind": f["kind"], "name": f["name"], "value": f["value"],
             "direction": f.get("direction") or "", "record value":
                 "" if f.get("feature_value") is None else f["feature_value"]}
            for f in facts["facts"]]
    return pd.DataFrame(rows, columns=["id", "kind", "name", "value", "direction",
                                       "record value"]).astype({"value": str,
                                                                "record value": str})


def build_decision_report(record: Mapping[str, Any]) -> Report:
    """The page of one explained decision from its report record (``reports/*.json``)."""
    facts = record["facts"]
    rep = Report(title=f"Explained decision: {record['subject']}",
                 subtitle=f"{record['domain']} | draft awaiting human review "
                          f"(report id {record['report_id']})")
    sec = rep.section("Explanation", intro="Written from the facts below only; every number "
                      "and name in it is one of those facts.")
    sec.note("Draft: a named reviewer must approve or reject this report "
             f"(`riskscope review approve {record['report_id']} --reviewer NAME`).",
             level="warn")
    sec.text(record["delivered"])
    how = rep.section("How the text was produced")
    if record["used"] == "llm":
        how.text("An LLM reworded the template report; the deterministic checker verified "
                 "every number, name, direction and the decision against the facts.")
    elif record.get("llm") is not None:
        how.text("The template report is shown: the LLM rewrite was rejected.")
        for reason in record.get("llm_reasons") or []:
            how.note(reason, level="warn")
    else:
        how.text("Template narrator (deterministic; the same facts give the same text).")
    how.kv({"facts sha256": record["facts_sha256"], "narrative cites":
            ", ".join(sorted({s[3] for s in record["narrative"]["spans"]}))})
    reasons = [f for f in facts["facts"] if f["kind"] == "reason"]
    if reasons:
        rep.section("Reason codes", intro="Principal adverse factors, most important first; "
                    "protected attributes are never reasons.").table(pd.DataFrame(
                        [{"rank": f["detail"].get("rank", i + 1), "reason": f["value"],
                          "feature": f["name"], "applicant's value":
                          str(f.get("feature_value"))} for i, f in enumerate(reasons)]))
    rep.section("Facts", intro="What the code computed; the only material the text may "
                "use.").table(facts_frame(facts), max_rows=200)
    src = {k: v for k, v in (record.get("source") or {}).items() if k != "record"}
    if src:
        rep.section("Source").kv(src)
    return rep


def build_run_report(params: Mapping[str, Any], entries: Sequence[Mapping[str, Any]]) -> Report:
    """The page of an explain run: every explained decision with a link to its page."""
    rep = Report(title=f"Explained decisions ({params.get('domain', '')})",
                 subtitle=f"{len(entries)} decision(s); every report is a draft until reviewed")
    rep.section("Parameters").kv({k: v for k, v in params.items()})
    table = pd.DataFrame([{"subject": e["subject"], "decision": e["decision"],
                           "text from": e["used"], "report": f"reports/{e['slug']}.html",
                           "review id": e["report_id"]} for e in entries])
    rep.section("Decisions").table(table, max_rows=500)
    return rep
