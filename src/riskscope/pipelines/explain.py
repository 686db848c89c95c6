"""Explained decisions, as named stages: facts -> narrative -> check -> report -> review.

find the source (a credit model, an ids model, an apt detection run) -> read the records
-> build the fact table of each decision (PII columns never enter it; identifiers become
keyed pseudonyms) -> narrate (the deterministic template; optionally an LLM rewrite that
the checker must pass, else the template) -> write one HTML and one JSON report per
decision and a run report -> submit every report for human review as a draft.

Nothing here decides: every decision is the saved model's, read from its own scoring.
An LLM only rewords the template text, and its request passes the PII guard first;
every exchange is logged by hashes in the review book.

:func:`ask` answers a question about an explained decision through the whitelisted
intents of :mod:`riskscope.explain.ask`.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd

from riskscope.config import Settings
from riskscope.exceptions import InputError, ParameterError, RunError, SchemaError
from riskscope.explain.facts import Fact, FactTable
from riskscope.report.run import start_run

__all__ = ["ExplainResult", "LLMSettings", "ask", "explain_alerts", "explain_credit",
           "explain_flows"]

KEY_FILE = ".pseudonym.key"
_SLUG = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class LLMSettings:
    """Where an optional LLM narrator runs; None everywhere means templates only.

    ``base_url`` + ``model``: any OpenAI-compatible chat endpoint (loopback unless
    ``allow_remote``); ``local``: in-process llama.cpp with the packaged small model.
    """

    base_url: str | None = None
    model: str | None = None
    timeout: float = 10.0
    allow_remote: bool = False
    local: bool = False

    @property
    def enabled(self) -> bool:
        return bool(self.local or self.base_url)

    def client(self) -> Any:
        from riskscope.explain.llm import LlamaCppClient, OpenAICompatibleClient

        if self.local:
            return LlamaCppClient()
        if not self.model:
            raise ParameterError("--llm-base-url needs --llm-model (the model name the "
                                 "endpoint serves).")
        return OpenAICompatibleClient(self.base_url, self.model, timeout=self.timeout,
                                      allow_remote=self.allow_remote)


@dataclass
class ExplainResult:
    """What an explain run wrote: its folder and one entry per explained decision."""

    run_path: Path
    reports: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class _Item:
    """One decision to explain: its facts, what the PII guard must know, its source."""

    slug: str
    facts: FactTable
    guard_values: list[Any]  # the record's own PII values: an LLM request must not carry them
    source: dict[str, Any]
    vocabulary: dict[str, str] = field(default_factory=dict)


def pseudonymizer(settings: Settings) -> Any:
    """The keyed pseudonymizer: ``RISKSCOPE_PSEUDONYM_KEY``, else a key kept in the runs
    folder (created once, owner-only), so tokens stay stable across runs of one folder."""
    from riskscope.explain.pii import Pseudonymizer

    if os.environ.get("RISKSCOPE_PSEUDONYM_KEY"):
        return Pseudonymizer()
    path = Path(settings.runs_dir) / KEY_FILE
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return Pseudonymizer(path.read_text().strip())


def _slug(text: str) -> str:
    return _SLUG.sub("-", text).strip("-") or "decision"


# -- narration, reports, review ------------------------------------------------------------
def _narrate(items: Sequence[_Item], llm: LLMSettings | None) -> list[dict[str, Any]]:
    from riskscope.explain.checker import Checker
    from riskscope.explain.llm import LLMNarrator
    from riskscope.explain.narrate import TemplateNarrator
    from riskscope.explain.pii import OutboundGuard

    template = TemplateNarrator()
    client = llm.client() if llm is not None and llm.enabled else None
    out = []
    for it in items:
        guard = OutboundGuard(it.guard_values)
        checker = Checker(vocabulary=it.vocabulary or None)
        narrative = template.narrate(it.facts)
        own = checker(narrative.text, it.facts, guard=guard)
        if not own.ok:  # the template must pass its own checker: a bug, never shipped
            raise RunError(f"The template report of {it.facts.subject} failed the checker "
                           f"({own.violations[0].why}); report this as a bug.")
        entry: dict[str, Any] = {"narrative": narrative, "text": narrative.text,
                                 "used": "template", "reasons": [], "log": None}
        if client is not None:
            res = LLMNarrator(client, checker, fallback=template).narrate(it.facts, guard=guard)
            entry.update(text=res.text, used=res.used, reasons=list(res.reasons),
                         log=res.log_record())
        out.append(entry)
    return out


def _write(pipeline: str, params: dict[str, Any], items: Sequence[_Item],
           llm: LLMSettings | None, settings: Settings, parent: str | None,
           inputs: Sequence[tuple[Path, str]] = ()) -> ExplainResult:
    from riskscope.explain.review import ReviewBook
    from riskscope.report.explain import build_decision_report, build_run_report

    if not items:
        raise SchemaError("Nothing to explain: no decision matched the request.")
    narrated = _narrate(items, llm)
    entries = []
    with start_run(pipeline, runs_dir=settings.runs_dir, seed=settings.seed,
                   parameters=params, parent=parent) as run:
        for path, role in inputs:
            run.add_input(path, role=role)
        for it, nar in zip(items, narrated, strict=True):
            report_id = f"{run.run_id}:{it.slug}"
            record = {"report_id": report_id, "subject": it.facts.subject,
                      "domain": it.facts.domain, "status": "draft",
                      "facts": it.facts.to_dict(), "facts_sha256": it.facts.digest(),
                      "narrative": nar["narrative"].to_dict(), "delivered": nar["text"],
                      "used": nar["used"], "llm_reasons": nar["reasons"], "llm": nar["log"],
                      "source": it.source, "vocabulary": it.vocabulary}
            run.write_json(f"reports/{it.slug}.json", record)
            html = build_decision_report(record).render()
            run.write_bytes(f"reports/{it.slug}.html", html.encode("utf-8"))
            entries.append({"report_id": report_id, "slug": it.slug,
                            "subject": it.facts.subject,
                            "decision": str(it.facts.decision.value), "used": nar["used"],
                            "log": nar["log"]})
        run.log_metrics(decisions=len(entries),
                        llm_used=sum(e["used"] == "llm" for e in entries),
                        template_used=sum(e["used"] == "template" for e in entries))
        run.write_report(build_run_report(params, entries))
    book = ReviewBook(settings.runs_dir)
    for e in entries:  # drafts are submitted once the run folder is final
        html = run.path / "reports" / f"{e['slug']}.html"
        book.submit(e["report_id"], run_id=run.run_id, subject=e["subject"], path=html)
        e["html"], e["json"] = html, html.with_suffix(".json")
        if e["log"] is not None:
            log = e["log"]
            book.log_exchange(run_id=run.run_id, subject=e["subject"],
                              backend="llama.cpp" if llm and llm.local else "openai",
                              model=log["model"], prompt_sha256=log["prompt_sha256"],
                              response_sha256=log["response_sha256"],
                              verdict="passed" if log["used"] == "llm" else "rejected",
                              used=log["used"], reasons=log["reasons"])
    return ExplainResult(run.path, entries)


# -- credit --------------------------------------------------------------------------------
def _credit_data(model: Any, data: str | os.PathLike[str] | pd.DataFrame | None) -> Any:
    from riskscope.datasets import load_german_credit

    src = data if data is not None else model.meta.get("data")
    if src is None:
        raise ParameterError("The credit model records no data; pass --data FILE.")
    if str(src) == "german_credit" and not Path(src).exists():  # as `credit run` reads it
        return _applicants(model, load_german_credit(), "german_credit (bundled)")
    return _applicants(model, src)


def _applicants(model: Any, src: Any, name: str | None = None) -> Any:
    """Applicants read with the model's rules, every input column kept for the PII guard."""
    from riskscope.io.credit_applicants import read_applicants

    return read_applicants(src, columns=model.columns, categorical=model.categorical,
                           name=name)


def _parse_record(record: str | dict[str, Any]) -> pd.DataFrame:
    if isinstance(record, dict):
        data = record
    else:
        raw = Path(record).read_bytes() if Path(record).suffix == ".json" and \
            Path(record).is_file() else record.encode()
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise SchemaError(f"--record is not valid JSON ({exc}); pass one applicant as a "
                              "JSON object of column: value.") from None
    if not isinstance(data, dict) or not data:
        raise SchemaError("--record must be one JSON object of column: value pairs; got "
                          f"{type(data).__name__}.")
    return pd.DataFrame([{k: (None if v is None else str(v)) for k, v in data.items()}])


def explain_credit(model: str | os.PathLike[str], *, data: str | os.PathLike[str] | None = None,
                   applicants: Sequence[int] = (), record: str | dict | None = None,
                   denied: int = 0, method: str = "reg_b_cutoff", pii: Sequence[str] = (),
                   llm: LLMSettings | None = None, settings: Settings | None = None,
                   parent: str | None = None) -> ExplainResult:
    """Explain credit decisions of a saved model (``credit run``).

    Applicants are rows of ``data`` (1-based, as ``credit score`` numbers them; default
    the model's training data), one ``record`` (JSON object), or the first ``denied``
    denied applicants.
    """
    from riskscope.explain.credit_facts import credit_fact_tables
    from riskscope.explain.pii import pii_columns
    from riskscope.explain.reasons import ReasonCoder
    from riskscope.pipelines.credit_score import load_credit_model

    settings = settings or Settings()
    m, path, model_id = load_credit_model(model, settings)
    if sum(bool(x) for x in (applicants, record, denied)) != 1:
        raise ParameterError("Say whom to explain: --applicant ROW (repeatable), --record "
                             "JSON or --denied N (exactly one of them).")
    a = _applicants(m, _parse_record(record), "--record") if record is not None else \
        _credit_data(m, data)
    X = a.X.reset_index(drop=True)
    X.index = np.arange(1, len(X) + 1)
    raw = a.raw.reset_index(drop=True) if a.raw is not None else X
    raw.index = X.index
    coders_path = path.parent / "reasons.json"
    saved = orjson.loads(coders_path.read_bytes()) if coders_path.is_file() else {}
    coder = None
    if method in saved:
        coder = ReasonCoder.from_dict(m, saved[method])
    elif record is not None and method != "points_below_max":
        raise InputError(f"The model at '{path.parent}' has no saved {method} reference "
                         "(model/reasons.json); re-run `credit run`, or use --method "
                         "points_below_max for a single record.")
    decisions = m.score_frame(X)["decision"].to_numpy()
    if denied:
        ids = [int(i) for i in X.index[decisions == "decline"][:denied]]
    elif applicants:
        bad = [i for i in applicants if i not in X.index]
        if bad:
            raise SchemaError(f"Applicant row {bad[0]} not found: '{a.source}' has rows 1.."
                              f"{len(X)}; pass --applicant between them.")
        ids = list(applicants)
    else:
        ids = [1]
    drop = pii_columns(list(raw.columns), pii, values=raw)
    tables = credit_fact_tables(m, X, ids=ids, reasons=coder,
                                method=None if coder is not None else method,
                                drop_columns=[c for c in drop if c in X.columns], top_n=8,
                                model_file=path)
    from riskscope.datasets._german_codes import DESCRIPTIONS
    from riskscope.explain.reasons import REASON_TEXTS

    vocab = {c: DESCRIPTIONS.get(c) or REASON_TEXTS.get(c, c) for c in m.columns}
    items = []
    for i in ids:
        facts = tables[i]
        values = [raw.loc[i, c] for c in drop if pd.notna(raw.loc[i, c])]
        model_input = {c: (None if pd.isna(v) else (v.item() if hasattr(v, "item") else
                                                    str(v) if c in m.categorical else v))
                       for c, v in X.loc[i].items() if c not in drop}
        items.append(_Item(_slug(f"applicant-{i}"), facts, values,
                           {"kind": "credit", "model": str(path), "model_id": model_id,
                            "row": int(i), "data": a.source if record is None else None,
                            "record": model_input},
                           vocab))
    params = {"domain": "credit", "model": model_id, "data": a.source, "method": method,
              "applicants": ids, "pii": list(pii), "llm": bool(llm and llm.enabled)}
    inputs = [(path, "model")] + ([(Path(a.source), "data")] if Path(a.source).is_file()
                                  else [])
    return _write("explain", params, items, llm, settings, parent, inputs)


# -- ids -------------------------------------------------------------------------------------
def explain_flows(model: str | os.PathLike[str], data: str | os.PathLike[str], *,
                  rows: Sequence[int] = (), alerts: int = 0, llm: LLMSettings | None = None,
                  settings: Settings | None = None, parent: str | None = None
                  ) -> ExplainResult:
    """Explain ids decisions on flows of ``data``: the given 1-based ``rows``, or the
    first ``alerts`` flows the model alerts on."""
    from riskscope.explain.alert_facts import IDS_IDENTIFIERS, ids_flow_facts
    from riskscope.io.flows import read_flows
    from riskscope.pipelines.ids_score import load_ids_model

    settings = settings or Settings()
    m = load_ids_model(model, settings)
    flows = read_flows(data, inf_policy="keep", nan_policy="zero", dedup=False,
                       require_label=False).frame.reset_index(drop=True)
    if bool(rows) == bool(alerts):
        raise ParameterError("Say which flows: --row N (repeatable) or --alerts N.")
    if alerts:
        pred = m.predict_frame(flows)
        flagged = pred["alert"].to_numpy() if "alert" in pred else \
            (pred["predicted"] != m.classes[0]).to_numpy()
        rows = [int(i) + 1 for i in np.flatnonzero(flagged)[:alerts]]
    bad = [r for r in rows if not 1 <= r <= len(flows)]
    if bad:
        raise SchemaError(f"Flow row {bad[0]} not found: '{data}' has rows 1..{len(flows)}.")
    pseudo = pseudonymizer(settings)
    items = []
    for r in rows:
        flow = flows.iloc[[r - 1]]
        facts = ids_flow_facts(m, flow, subject=f"flow {r}", pseudonymize=pseudo.ip)
        values = [flow.iloc[0][c] for c in IDS_IDENTIFIERS
                  if c in flow.columns and pd.notna(flow.iloc[0][c])]
        items.append(_Item(_slug(f"flow-{r}"), facts, values,
                           {"kind": "ids", "model": str(m.path), "row": r, "data": str(data)},
                           {c: c for c in m.preprocessor.features_}))
    params = {"domain": "ids", "model": m.model_id, "data": str(data), "rows": list(rows),
              "llm": bool(llm and llm.enabled)}
    return _write("explain", params, items, llm, settings, parent)


# -- apt -------------------------------------------------------------------------------------
def explain_alerts(run: str | os.PathLike[str], *, ranks: Sequence[int] = (1,),
                   graph: str | None = None, llm: LLMSettings | None = None,
                   settings: Settings | None = None, parent: str | None = None
                   ) -> ExplainResult:
    """Explain apt alerts of an ``apt detect`` run: the alerts of the given ranks in
    ``graph`` (default: the graph with the most alerts)."""
    from riskscope.explain.alert_facts import apt_alert_facts
    from riskscope.report.catalog import Catalog

    settings = settings or Settings()
    folder = Path(run)
    if not folder.is_dir():
        info = Catalog(settings.runs_dir).get(str(run))
        if info["pipeline"] != "apt-detect":
            raise ParameterError(f"Run '{info['run_id']}' is a {info['pipeline']} run, not "
                                 "an apt-detect run; pass the run of `riskscope apt detect`.")
        folder = Path(info["path"])
    try:
        alerts = pd.read_parquet(folder / "tables" / "alerts.parquet")
        verdicts = pd.read_parquet(folder / "tables" / "verdicts.parquet")
        manifest = orjson.loads((folder / "manifest.json").read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise InputError(f"'{folder}' is not a finished apt detection run ({exc}); pass the "
                         "run of `riskscope apt detect`.") from None
    if alerts.empty:
        raise SchemaError(f"Run '{folder.name}' raised no alerts; nothing to explain.")
    g = graph or str(alerts["graph"].value_counts().index[0])
    mine = alerts[alerts["graph"] == g].sort_values("rank")
    v = verdicts[verdicts["graph"] == g].iloc[0]
    params_src = manifest.get("parameters", {})
    thr = _apt_thresholds(str(params_src.get("model", "")), settings)
    node_thr, graph_thr = float(thr["node_threshold"]), int(thr["graph_threshold"])
    pseudo = pseudonymizer(settings)
    items = []
    for rank in ranks:
        row = mine[mine["rank"] == rank]
        if row.empty:
            raise SchemaError(f"Graph '{g}' has no alert of rank {rank} (it has "
                              f"{len(mine)}); pass --rank between 1 and {len(mine)}.")
        alert = row.iloc[0].to_dict()
        facts = apt_alert_facts(alert, node_threshold=node_thr, graph_alerts=int(v["alerts"]),
                                graph_threshold=graph_thr, anomalous=bool(v["anomalous"]),
                                model_id=str(params_src.get("model", "")),
                                pseudonymize=pseudo.text)
        # A node's name (a process path, a file) is the evidence, not PII; the addresses in
        # it are pseudonymised in the facts, and the recognizers still block any raw one.
        items.append(_Item(_slug(f"{g}-alert-{rank}"), facts, [],
                           {"kind": "apt", "run": folder.name, "graph": g,
                            "rank": int(rank)}))
    params = {"domain": "apt", "run": folder.name, "graph": g, "ranks": list(ranks),
              "llm": bool(llm and llm.enabled)}
    return _write("explain", params, items, llm, settings, parent)


def _apt_thresholds(model: str, settings: Settings) -> dict[str, Any]:
    """The node and graph thresholds of the apt model a detection used (its train run)."""
    from riskscope.report.catalog import Catalog

    p = Path(model)
    for cand in (p, p.parent):
        if (cand / "manifest.json").is_file():
            metrics = orjson.loads((cand / "manifest.json").read_bytes()).get("metrics", {})
            break
    else:
        metrics = Catalog(settings.runs_dir).get(model)["metrics"]
    if "node_threshold" not in metrics or "graph_threshold" not in metrics:
        raise InputError(f"The apt model '{model}' records no thresholds; re-run "
                         "`riskscope apt train`.")
    return metrics


# -- questions -------------------------------------------------------------------------------
def _explain_folder(run: str, settings: Settings) -> Path:
    from riskscope.report.catalog import Catalog

    folder = Path(run)
    if folder.is_dir() and (folder / "reports").is_dir():
        return folder
    info = Catalog(settings.runs_dir).get(str(run))
    if info["pipeline"] != "explain":
        raise ParameterError(f"Run '{info['run_id']}' is a {info['pipeline']} run; ask about "
                             "an explain run (see `riskscope runs list --pipeline explain`).")
    return Path(info["path"])


def _what_if(record: dict[str, Any], settings: Settings) -> Callable[[str, Any], FactTable]:
    from riskscope.pipelines.credit_score import load_credit_model

    model, _, _ = load_credit_model(record["model"], settings)

    def rescore(feature: str, value: Any) -> FactTable:
        row = dict(record["record"])
        if feature not in row:
            raise SchemaError(f"{feature!r} is not an input of the model.")
        row[feature] = value
        X = _applicants(model, pd.DataFrame([row]), "what-if").X
        s = model.score_frame(X).iloc[0]
        return FactTable("credit", "what-if", [
            Fact("decision", "decision", "decision",
                 "deny" if s["decision"] == "decline" else "approve"),
            Fact("p_bad", "probability", "P(bad)", float(s["p_bad"]))])

    return rescore


def _fairness(model_id: str, settings: Settings) -> Callable[[str], FactTable] | None:
    """Group measures of the newest fairness audit of the credit run ``model_id``."""
    from riskscope.report.catalog import Catalog

    cat = Catalog(settings.runs_dir)
    for path in cat.list_runs(pipeline="fairness")["path"]:  # newest first
        f = Path(path) / "fairness.json"
        if not f.is_file():
            continue
        audit = orjson.loads(f.read_bytes())
        if audit.get("source_run") == model_id:
            break
    else:
        return None

    def measures(attribute: str) -> FactTable:
        rows = [m for m in audit["measures"] if m["attribute"] == attribute
                and m["value"] is not None]
        if not rows:
            raise SchemaError(f"The fairness audit of {model_id} has no attribute "
                              f"{attribute!r}; it audited "
                              f"{sorted({m['attribute'] for m in audit['measures']})}.")
        return FactTable("credit", f"fairness by {attribute}", [
            Fact("decision", "decision", "audit", "flagged" if any(m["flag"] for m in rows)
                 else "not flagged"),
            *[Fact(f"m{i}", "metric", m["measure"].replace("_", " "), float(m["value"]),
                   detail={"low": m["low"], "high": m["high"]})
              for i, m in enumerate(rows)]])

    return measures


def _similar(rec: dict[str, Any], settings: Settings, n: int = 5
             ) -> Callable[[], FactTable] | None:
    """The ``n`` training applicants nearest to this one in scorecard points (L1), with the
    model's decision and the known outcome."""
    from riskscope.pipelines.credit_score import load_credit_model

    src = rec.get("source") or {}
    if src.get("kind") != "credit":
        return None

    def find() -> FactTable:
        model, _, _ = load_credit_model(src["model"], settings)
        a = _credit_data(model, None)
        X = a.X.reset_index(drop=True)
        X.index = np.arange(1, len(X) + 1)
        pts = model.scorecard.points(X).to_numpy(np.float64)
        me = model.scorecard.points(_applicants(model, pd.DataFrame([src["record"]]),
                                                "record").X).to_numpy(np.float64)[0]
        dist = np.abs(pts - me).sum(axis=1)
        if src.get("row") is not None and src.get("data") is not None:
            dist[int(src["row"]) - 1] = np.inf  # not the applicant itself
        nearest = np.argsort(dist, kind="stable")[:n]
        dec = model.score_frame(X.iloc[nearest])["decision"].to_numpy()
        target = model.meta.get("target")
        raw = a.raw.reset_index(drop=True) if a.raw is not None else None
        facts = [Fact("decision", "decision", "search", "similar cases")]
        for k, (j, d) in enumerate(zip(nearest, dec, strict=True), start=1):
            outcome = ""
            if raw is not None and target in raw.columns:
                outcome = f", outcome {raw.iloc[j][target]}"
            facts.append(Fact(f"s{k}", "attribute", f"applicant {j + 1}",
                              f"{'deny' if d == 'decline' else 'approve'}{outcome}",
                              detail={"points_distance": float(dist[j])}))
        return FactTable("credit", "similar cases", facts)

    return find


def ask(question: str, run: str | os.PathLike[str], *, subject: str | None = None,
        llm: LLMSettings | None = None, settings: Settings | None = None) -> Any:
    """Answer ``question`` about one decision of an explain run (see
    :mod:`riskscope.explain.ask`); returns an :class:`~riskscope.explain.ask.Answer`.

    With ``llm`` the model proposes the intent as JSON (validated against the whitelist,
    the rule parser when it fails); the answer itself is always built by code.
    """
    from riskscope.explain.ask import AskContext, answer, parse_question, propose_intent
    from riskscope.explain.pii import OutboundGuard
    from riskscope.explain.review import ReviewBook

    settings = settings or Settings()
    folder = _explain_folder(str(run), settings)
    records = {}
    for p in sorted((folder / "reports").glob("*.json")):
        try:
            rec = orjson.loads(p.read_bytes())
        except orjson.JSONDecodeError as exc:
            raise SchemaError(f"Report '{p}' is not valid JSON ({exc}).") from None
        records[rec["subject"]] = rec
    if not records:
        raise RunError(f"Run '{folder.name}' holds no explained decisions.")
    if subject is None:
        if len(records) > 1:
            raise ParameterError(f"Run '{folder.name}' explains {len(records)} decisions; "
                                 f"pass --subject (one of: {', '.join(list(records)[:5])}).")
        rec = next(iter(records.values()))
    elif subject in records:
        rec = records[subject]
    else:
        raise SchemaError(f"Subject {subject!r} is not in run '{folder.name}'; it explains: "
                          f"{', '.join(list(records)[:5])}.")
    facts = FactTable.from_dict(rec["facts"])
    vocab = rec.get("vocabulary") or {}
    src = rec.get("source") or {}
    if llm is None or not llm.enabled:
        intent = parse_question(question, list(vocab))
    else:
        import hashlib

        client = llm.client()
        intent, why = propose_intent(question, list(vocab), client, guard=OutboundGuard([]))
        ReviewBook(settings.runs_dir).log_exchange(
            run_id=folder.name, subject=rec["subject"],
            backend="llama.cpp" if llm.local else "openai",
            model=str(getattr(client, "model", "")),
            prompt_sha256=hashlib.sha256(question.encode("utf-8")).hexdigest(),
            response_sha256=None,
            verdict="intent accepted" if why is None else "intent rejected",
            used="llm intent" if why is None else "rules", reasons=[why] if why else [])
    # Only what the intent needs is loaded: a "why" never reads the model or the catalog.
    credit = src.get("kind") == "credit"
    need = intent.name
    ctx = AskContext(
        facts, vocab,
        what_if=_what_if(src, settings) if credit and need == "what_if" else None,
        metrics=_metrics(facts, src, settings) if need == "model_metrics" else None,
        fairness=_fairness(src["model_id"], settings)
        if credit and need == "group_fairness" else None,
        similar=_similar(rec, settings) if need == "similar_cases" else None)
    return answer(intent, ctx)


def _metrics(facts: FactTable, src: dict[str, Any], settings: Settings) -> FactTable | None:
    """Model-level figures (AUC, macro-F1, cut-off) of the run the decision's model came
    from, as metric facts."""
    from riskscope.report.catalog import Catalog

    if not src.get("model_id"):
        return None
    cat = Catalog(settings.runs_dir)
    try:
        values = cat.metrics(cat.resolve_id(src["model_id"]))
    except RunError:
        return None
    keep = sorted((k, v) for k, v in values.items()
                  if k.endswith(("roc_auc", "auc", "macro_f1", "cutoff")))[:8]
    if not keep:
        return None
    return FactTable(facts.domain, "model", [
        Fact("decision", "decision", "model", "metrics"),
        *[Fact(f"m{i}", "metric", k, float(v)) for i, (k, v) in enumerate(keep)]])
