"""The facts of one credit decision: what a narrative or an answer about it may say.

:func:`credit_fact_table` turns one applicant and a fitted credit model into a
:class:`~riskscope.explain.facts.FactTable` with stable, readable ids:

=================  ===========  =========================================================
id                 kind         value
=================  ===========  =========================================================
``decision``       decision     ``"deny"`` or ``"approve"``
``p_bad``          probability  P(bad) of the applicant
``score``          score        scorecard points (scorecards only)
``cutoff``         threshold    the P(bad) cut-off: deny when P(bad) >= it
``cutoff_score``   threshold    the same cut-off as a score: deny at or below it
``c1`` .. ``cN``   contribution each feature's push, largest magnitude first
``r1`` .. ``r4``   reason       reason texts of a denial, principal first
``model``          model        ``sha256:<12 hex>`` of the model (file or canonical JSON)
``data``           data         ``sha256:<64 hex>`` of the applicant record's canonical JSON
=================  ===========  =========================================================

Contributions come from a :class:`~riskscope.explain.reasons.ReasonCoder` (its method and
unit stated in each fact), ``direction`` ``up`` = towards denial. Columns named in
``drop_columns`` (PII) never become facts, not even as a feature value; protected
features (age, sex, ...) are reasons never and contributions only when asked for.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import orjson
import pandas as pd

from riskscope.exceptions import ParameterError, SchemaError
from riskscope.explain.facts import Fact, FactTable, record_hash
from riskscope.explain.reasons import GERMAN_PROTECTED, ReasonCoder, readable_value

__all__ = ["credit_fact_table", "credit_fact_tables", "model_version", "record_hash"]

_RUN_TIME = re.compile(r"^(\d{8}T\d{6}Z)")


def _plain(v: Any) -> Any:
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return None
    return v.item() if hasattr(v, "item") else v


def model_version(model: Any, model_file: str | os.PathLike[str] | None = None,
                  ) -> dict[str, Any]:
    """Identity of a model: sha256 of its file (or of its canonical JSON) and its run.

    Returns ``sha256`` (hex), ``run_id`` and ``created`` (the run's UTC start, from its id)
    where known, and ``source`` (``"file"``, ``"json"`` or ``"none"``).

    Examples
    --------
    >>> from riskscope.explain.credit_facts import model_version
    >>> model_version(object())["source"]
    'none'
    """
    meta = getattr(model, "meta", None) or {}
    out: dict[str, Any] = {"sha256": None, "run_id": meta.get("run_id"), "created": None,
                           "source": "none"}
    if model_file is not None:
        out["sha256"] = hashlib.sha256(Path(model_file).read_bytes()).hexdigest()
        out["source"] = "file"
    elif hasattr(model, "to_dict"):
        raw = orjson.dumps(model.to_dict(), option=orjson.OPT_SORT_KEYS)
        out["sha256"], out["source"] = hashlib.sha256(raw).hexdigest(), "json"
    hit = _RUN_TIME.match(str(out["run_id"] or ""))
    if hit:
        t = hit.group(1)
        out["created"] = f"{t[:4]}-{t[4:6]}-{t[6:8]}T{t[9:11]}:{t[11:13]}:{t[13:15]}Z"
    return out


def _row(applicants: Any, applicant_id: Any) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The applicant as a one-row frame, and the population frame if one was given."""
    if isinstance(applicants, pd.DataFrame):
        if not applicants.index.is_unique:
            raise SchemaError("Applicant ids (the frame's index) repeat; give each applicant "
                              "a unique id.")
        if applicant_id not in applicants.index:
            ids = list(applicants.index[:3])
            raise SchemaError(f"Applicant id {applicant_id!r} not found among "
                              f"{len(applicants)} applicants (ids {ids} ...); pass an id of "
                              "the applicants' index.")
        return applicants.loc[[applicant_id]], applicants
    if isinstance(applicants, pd.Series | Mapping):
        return pd.DataFrame([dict(applicants)], index=[applicant_id]), None
    raise SchemaError(f"An applicant must be a DataFrame row, a Series or a mapping; got "
                      f"{type(applicants).__name__}.")


def _coder(model: Any, reasons: ReasonCoder | None, method: str | None,
           population: pd.DataFrame | None, drop: set[str]) -> ReasonCoder:
    if reasons is not None:
        if method is not None and method != reasons.method:
            raise ParameterError(f"`method={method!r}` of credit_fact_table differs from the "
                                 f"given ReasonCoder's {reasons.method!r}; pass one of them.")
        if not hasattr(reasons, "model_"):
            raise ParameterError("`reasons` of credit_fact_table must be a fitted ReasonCoder; "
                                 "call fit(applicants) first.")
        return reasons
    method = method or "reg_b_mean"
    if population is None and method != "points_below_max":
        raise ParameterError(f"`method={method!r}` of credit_fact_table needs the applicant "
                             "population: pass the applicants' DataFrame, or reasons= a "
                             "ReasonCoder fitted on it.")
    protected = [*GERMAN_PROTECTED, *sorted(drop)]
    return ReasonCoder(model=model, method=method, protected=protected).fit(population)


def credit_fact_table(model: Any, applicants: pd.DataFrame | pd.Series | Mapping[str, Any], *,
                      applicant_id: Any, reasons: ReasonCoder | None = None,
                      method: str | None = None, top_n: int | None = None,
                      drop_columns: Iterable[str] = (), protected_contributions: bool = False,
                      model_file: str | os.PathLike[str] | None = None) -> FactTable:
    """The fact table of one credit decision.

    Parameters
    ----------
    model : CreditModel, Scorecard or fitted classifier
        What decided (see :class:`~riskscope.explain.reasons.ReasonCoder`).
    applicants : DataFrame, Series or mapping
        All applicants (index = ids; also the reference population when ``reasons`` is
        None) or one applicant's record.
    applicant_id : hashable
        Which applicant; must be in the frame's index.
    reasons : ReasonCoder, optional
        Fitted; its method, cut-off, protected features and texts are used. None: a
        ``ReasonCoder(method=method)`` fitted on ``applicants``.
    method : str, optional
        Reason method when ``reasons`` is None (default ``"reg_b_mean"``); a single record
        allows ``"points_below_max"`` only (the others need the population).
    top_n : int, optional
        Keep the ``top_n`` largest contributions; None keeps every feature.
    drop_columns : iterable of str
        PII columns: never a fact, not even as a feature value or reason.
    protected_contributions : bool, default False
        Also state the contributions of protected features (the coder's ``protected``;
        flagged ``detail["protected"]``). Off by default: the facts are all a narrative
        may say, and a customer's report must not say that their age raised the risk;
        an analyst's or auditor's view may turn it on.
    model_file : path, optional
        The saved model file; its bytes give the model hash (else the model's JSON).

    Returns
    -------
    FactTable
        Domain ``credit``, subject ``"applicant <id>"``; ids as in the module docstring.

    Examples
    --------
    >>> from riskscope.datasets import load_german_credit
    >>> from riskscope.explain.credit_facts import credit_fact_table
    >>> from riskscope.scorecard import Scorecard
    >>> df = load_german_credit()
    >>> X, y = df.drop(columns="class"), (df["class"] == "bad").astype(int)
    >>> card = Scorecard(threshold=0.5).fit(X, y)
    >>> t = credit_fact_table(card, X, applicant_id=1, top_n=5)
    >>> t.decision.value, [f.id for f in t.of_kind("reason")]
    ('deny', ['r1', 'r2', 'r3', 'r4'])
    >>> t["r1"].detail["feature"], t["r1"].feature_value
    ('duration_months', 48)
    >>> credit_fact_table(card, X, applicant_id=1, top_n=5).to_json() == t.to_json()
    True
    """
    _check_top_n(top_n)
    drop = {str(c) for c in drop_columns}
    row, population = _row(applicants, applicant_id)
    coder = _coder(model, reasons, method, population, drop)
    return _tables(coder, model, row, top_n, drop, protected_contributions, model_file)[0]


def credit_fact_tables(model: Any, applicants: pd.DataFrame, *, ids: Iterable[Any] | None = None,
                       reasons: ReasonCoder | None = None, method: str | None = None,
                       top_n: int | None = None, drop_columns: Iterable[str] = (),
                       protected_contributions: bool = False,
                       model_file: str | os.PathLike[str] | None = None,
                       ) -> dict[Any, FactTable]:
    """Fact tables of many applicants at once: the model encodes them in one pass.

    Each table is byte-identical to :func:`credit_fact_table`'s for the same applicant.

    Parameters
    ----------
    model, reasons, method, top_n, drop_columns, protected_contributions, model_file
        As for :func:`credit_fact_table`.
    applicants : DataFrame
        All applicants, index = ids (the reference population when ``reasons`` is None).
    ids : iterable, optional
        Which applicants; None: all of them.

    Returns
    -------
    dict
        Applicant id -> FactTable, in the order of ``ids``.

    Examples
    --------
    >>> from riskscope.datasets import load_german_credit
    >>> from riskscope.explain.credit_facts import credit_fact_table, credit_fact_tables
    >>> from riskscope.scorecard import Scorecard
    >>> df = load_german_credit()
    >>> X, y = df.drop(columns="class"), (df["class"] == "bad").astype(int)
    >>> card = Scorecard(threshold=0.5).fit(X, y)
    >>> tables = credit_fact_tables(card, X, ids=[0, 1, 2], method="points_below_max")
    >>> [t.decision.value for t in tables.values()]
    ['approve', 'deny', 'approve']
    >>> tables[1].to_json() == credit_fact_table(card, X, applicant_id=1,
    ...                                          method="points_below_max").to_json()
    True
    """
    _check_top_n(top_n)
    if not isinstance(applicants, pd.DataFrame):
        raise SchemaError(f"credit_fact_tables needs the applicants as a DataFrame; got "
                          f"{type(applicants).__name__}.")
    wanted = list(applicants.index) if ids is None else list(ids)
    rows = _row(applicants, wanted[0])[0] if len(wanted) == 1 else None
    if rows is None:
        for i in wanted:  # the same one-line error as a single id gives
            if i not in applicants.index:
                _row(applicants, i)
        if not applicants.index.is_unique:
            _row(applicants, wanted[0])
        rows = applicants.loc[wanted] if wanted else applicants.iloc[:0]
    drop = {str(c) for c in drop_columns}
    coder = _coder(model, reasons, method, applicants, drop)
    tables = _tables(coder, model, rows, top_n, drop, protected_contributions, model_file)
    return dict(zip(wanted, tables, strict=True))


def _check_top_n(top_n: Any) -> None:
    if top_n is not None and not (isinstance(top_n, int) and not isinstance(top_n, bool)
                                  and top_n >= 1):
        raise ParameterError(f"`top_n` of credit_fact_table must be None or an int >= 1; "
                             f"got {top_n!r}.")


def _tables(coder: ReasonCoder, model: Any, rows: pd.DataFrame, top_n: int | None,
            drop: set[str], with_protected: bool, model_file: Any) -> list[FactTable]:
    m = coder.model_
    X = m.frame(rows)
    if len(X) == 0:
        return []
    ev = m.evaluate(X)
    contrib = coder._contributions(ev)
    codes = coder._codes(X, ev, contrib)
    version = model_version(model, model_file)
    model_fact = Fact("model", "model", "credit model",
                      f"sha256:{version['sha256'][:12]}" if version["sha256"]
                      else type(m.full).__name__,
                      detail={k: v for k, v in version.items() if v is not None})
    card = m.card
    cut = None
    if card is not None:
        from scipy.special import logit

        cut = float(card.offset_ - card.factor_ * logit(coder.threshold_))
    out = []
    for i in range(len(X)):
        row = X.iloc[i]
        deny = codes.decisions[i] == "deny"
        facts = [Fact("decision", "decision", "decision", codes.decisions[i],
                      detail={"rule": "deny when P(bad) >= cutoff"}),
                 Fact("p_bad", "probability", "P(bad)", float(ev["p_bad"][i]),
                      unit="probability")]
        if card is not None:
            facts.append(Fact("score", "score", "score", float(ev["score"][i]),
                              unit="points", detail={"higher": "safer"}))
        facts.append(Fact("cutoff", "threshold", "P(bad) cutoff", coder.threshold_,
                          unit="probability", detail={"rule": "deny when P(bad) >= cutoff"}))
        if cut is not None:
            facts.append(Fact("cutoff_score", "threshold", "score cutoff", cut,
                              unit="points", detail={"rule": "deny when score <= cutoff"}))
        points = None if ev["points"] is None else ev["points"][i]
        facts += _contribution_facts(coder, row, contrib[i], points, drop, with_protected,
                                     top_n)
        if deny:
            facts += _reason_facts(coder, codes.reasons[i], drop, facts)
        record = {c: row[c] for c in m.columns}
        facts += [model_fact,
                  Fact("data", "data", "applicant record", f"sha256:{record_hash(record)}",
                       detail={"columns": len(record), "scope": "model input columns"})]
        out.append(FactTable("credit", f"applicant {_plain(X.index[i])}", facts))
    return out


def _contribution_facts(coder: ReasonCoder, row: pd.Series, contrib: Any, points: Any,
                        drop: set[str], with_protected: bool, top_n: int | None,
                        ) -> list[Fact]:
    protected = {str(c) for c in coder.protected}
    pos = {f: j for j, f in enumerate(coder.features_)}
    keep = [f for f in coder.features_
            if f not in drop and (with_protected or f not in protected)]
    # largest magnitude first; equal magnitudes keep model order
    order = sorted(keep, key=lambda f: (-abs(float(contrib[pos[f]])), pos[f]))
    out = []
    for rank, f in enumerate(order[:top_n] if top_n is not None else order, start=1):
        c = float(contrib[pos[f]])
        detail: dict[str, Any] = {"rank": rank, "method": coder.method,
                                  "protected": f in protected}
        if points is not None:
            detail["points"] = float(points[pos[f]])
        out.append(Fact(f"c{rank}", "contribution", f, c, unit=coder.unit_,
                        direction="up" if c > 0 else "down" if c < 0 else None,
                        feature_value=readable_value(f, row[f]), detail=detail))
    return out


def _reason_facts(coder: ReasonCoder, reasons: Iterable[Any], drop: set[str],
                  facts: list[Fact]) -> list[Fact]:
    by_feature = {f.name: f.id for f in facts if f.kind == "contribution"}
    out = []
    for rank, r in enumerate([r for r in reasons if r.feature not in drop], start=1):
        detail: dict[str, Any] = {"feature": r.feature, "rank": rank, "method": coder.method,
                                  "contribution": r.contribution, "unit": coder.unit_}
        if r.feature in by_feature:
            detail["contribution_fact"] = by_feature[r.feature]
        out.append(Fact(f"r{rank}", "reason", r.feature, r.text, direction="up",
                        feature_value=r.value, detail=detail))
    return out
