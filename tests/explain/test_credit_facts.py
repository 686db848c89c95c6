"""The fact table of one credit decision.

What must hold: the facts agree with what ``credit score`` writes for the same applicant
(P(bad), decision, score, points); ids are stable and readable; the same input gives the
same JSON bytes (also after the model's JSON round trip); reasons only for denials, at
most four, never protected; PII columns never become facts; an unknown applicant id is one
clear line.
"""

from __future__ import annotations

import hashlib

import numpy as np
import orjson
import pandas as pd
import pytest
from scipy.special import logit

from riskscope.datasets import load_german_credit
from riskscope.evaluation.cutoff import choose_cutoff
from riskscope.exceptions import ParameterError, SchemaError
from riskscope.explain.credit_facts import (
    credit_fact_table,
    credit_fact_tables,
    model_version,
    record_hash,
)
from riskscope.explain.facts import FactTable
from riskscope.explain.reasons import GERMAN_PROTECTED, ReasonCoder
from riskscope.pipelines.credit_score import CreditModel, load_credit_model
from riskscope.scorecard import Scorecard

pytest.importorskip("optbinning")

RUN_ID = "20261207T120000Z-credit"


@pytest.fixture(scope="module")
def german() -> tuple[pd.DataFrame, np.ndarray]:
    df = load_german_credit()
    return df.drop(columns="class"), (df["class"] == "bad").astype(int).to_numpy()


@pytest.fixture(scope="module")
def model(german) -> CreditModel:
    X, y = german
    card = Scorecard().fit(X, y)
    cutoff = choose_cutoff(y, card.predict_proba(X)[:, 1], bad_cost=5)
    cats = [c for c in X if X[c].dtype == "category"]
    return CreditModel.build(card, cutoff, X, categorical=cats, meta={"run_id": RUN_ID})


@pytest.fixture(scope="module")
def coder(german, model) -> ReasonCoder:
    return ReasonCoder(model=model, method="reg_b_cutoff").fit(german[0])


@pytest.fixture(scope="module")
def scored(german, model) -> pd.DataFrame:
    out = model.score_frame(german[0])
    out.index = german[0].index
    return out


def _denied(scored: pd.DataFrame) -> list:
    return list(scored.index[scored["decision"] == "decline"])


def test_facts_agree_with_credit_score(german, model, coder, scored) -> None:
    X, _ = german
    i = _denied(scored)[0]
    t = credit_fact_table(model, X, applicant_id=i, reasons=coder,
                          protected_contributions=True)
    n = len(X.columns)
    assert [f.id for f in t] == ["decision", "p_bad", "score", "cutoff", "cutoff_score",
                                 *[f"c{k}" for k in range(1, n + 1)],
                                 *[f"r{k}" for k in range(1, len(t.of_kind("reason")) + 1)],
                                 "model", "data"]
    assert t.domain == "credit" and t.subject == f"applicant {i}"
    row = scored.loc[i]
    assert t.decision.value == "deny" and row["decision"] == "decline"
    assert t["p_bad"].value == pytest.approx(row["p_bad"], rel=1e-12)
    assert t["score"].value == pytest.approx(row["score"], rel=1e-12)
    assert t["cutoff"].value == model.cutoff.threshold
    assert t["cutoff_score"].value == pytest.approx(model.score_cutoff, rel=1e-12)
    points = {f.name: f.detail["points"] for f in t.of_kind("contribution")}
    assert sum(points.values()) == pytest.approx(row["score"], abs=1e-8)  # sum to the score
    for f in t.of_kind("contribution"):
        assert points[f.name] == pytest.approx(row[f"points_{f.name}"], rel=1e-12)


def test_decision_matches_both_cutoffs_for_every_applicant(german, model, coder,
                                                           scored) -> None:
    X, _ = german
    for i, t in credit_fact_tables(model, X, reasons=coder, top_n=3).items():
        deny = t.decision.value == "deny"
        assert deny == (t["p_bad"].value >= t["cutoff"].value)
        assert deny == (t["score"].value <= t["cutoff_score"].value + 1e-9)
        assert deny == (scored.loc[i, "decision"] == "decline")


def test_contributions_sum_to_log_odds_against_the_reference(german, model, coder) -> None:
    X, _ = german
    card = model.scorecard
    ref_logit = card.decision_function(X.iloc[coder.reference_index_]).mean()
    for i in (0, 1, 2, 500):
        t = credit_fact_table(model, X, applicant_id=i, reasons=coder,
                              protected_contributions=True)
        c = t.of_kind("contribution")
        assert sum(f.value for f in c) == pytest.approx(logit(t["p_bad"].value) - ref_logit,
                                                        abs=1e-9)
        sizes = [abs(f.value) for f in c]
        assert sizes == sorted(sizes, reverse=True)
        assert [f.detail["rank"] for f in c] == list(range(1, len(c) + 1))
        for f in c:
            assert f.direction == ("up" if f.value > 0 else "down" if f.value < 0 else None)
            assert f.unit == "log-odds" and f.detail["method"] == "reg_b_cutoff"
            assert f.detail["protected"] == (f.name in GERMAN_PROTECTED)


def test_reasons_only_for_denials_at_most_four_never_protected(german, model, coder,
                                                               scored) -> None:
    X, _ = german
    rc = coder.explain(X)
    tables = credit_fact_tables(model, X, reasons=coder, top_n=1)
    assert list(tables) == list(X.index)
    for i, t in tables.items():
        reasons = t.of_kind("reason")
        if t.decision.value == "approve":
            assert reasons == []
            continue
        assert 1 <= len(reasons) <= 4
        assert [f.id for f in reasons] == [f"r{k}" for k in range(1, len(reasons) + 1)]
        assert not {f.detail["feature"] for f in reasons} & set(GERMAN_PROTECTED)
        assert [f.detail["feature"] for f in reasons] == [r.feature for r in rc[i]]
        assert all(f.direction == "up" and f.detail["method"] == "reg_b_cutoff"
                   for f in reasons)


def test_reason_facts_point_at_their_contributions(german, model, coder, scored) -> None:
    X, _ = german
    t = credit_fact_table(model, X, applicant_id=_denied(scored)[3], reasons=coder)
    for r in t.of_kind("reason"):
        c = t[r.detail["contribution_fact"]]
        assert c.name == r.detail["feature"] and c.direction == "up"
        assert c.value == r.detail["contribution"] and c.feature_value == r.feature_value


def test_same_input_gives_identical_json_bytes(german, model, scored) -> None:
    X, _ = german
    i = _denied(scored)[1]
    a = credit_fact_table(model, X, applicant_id=i, method="reg_b_cutoff")
    b = credit_fact_table(model, X, applicant_id=i, method="reg_b_cutoff")
    assert a.to_json() == b.to_json() and a.digest() == b.digest()
    # the saved model read back decides and explains with the very same bytes
    back = CreditModel.from_dict(orjson.loads(orjson.dumps(model.to_dict())))
    c = credit_fact_table(back, X, applicant_id=i, method="reg_b_cutoff")
    assert c.to_json() == a.to_json()
    # column order of the applicants' frame changes nothing
    d = credit_fact_table(model, X[X.columns[::-1]], applicant_id=i, method="reg_b_cutoff")
    assert d.to_json() == a.to_json()
    assert FactTable.from_json(a.to_json()) == a


def test_single_record_with_points_below_max(german, model, scored) -> None:
    X, _ = german
    i = _denied(scored)[2]
    from_frame = credit_fact_table(model, X, applicant_id=i, method="points_below_max")
    from_dict = credit_fact_table(model, X.loc[i].to_dict(), applicant_id=i,
                                  method="points_below_max")
    assert from_dict.to_json() == from_frame.to_json()
    c = from_frame.of_kind("contribution")
    assert all(f.unit == "points" and f.value >= 0 for f in c)
    best = model.scorecard.points(X).max(axis=0)
    for f in c:  # the shortfall from the best points any applicant earned
        assert f.value == pytest.approx(best[f.name] - f.detail["points"], abs=1e-9)
    with pytest.raises(ParameterError, match="needs the applicant population"):
        credit_fact_table(model, X.loc[i].to_dict(), applicant_id=i, method="reg_b_mean")


def test_unknown_applicant_id_is_one_clear_line(german, model, coder) -> None:
    X, _ = german
    with pytest.raises(SchemaError, match=r"^Applicant id 4711 not found among 1000 "
                                          r"applicants .*pass an id") as e:
        credit_fact_table(model, X, applicant_id=4711, reasons=coder)
    assert "\n" not in str(e.value)
    with pytest.raises(SchemaError, match="must be a DataFrame row, a Series or a mapping"):
        credit_fact_table(model, [1, 2], applicant_id=0, reasons=coder)


def test_pii_columns_never_become_facts(german, model, scored) -> None:
    X, _ = german
    i = _denied(scored)[0]
    people = X.assign(full_name="Erika Mustermann", iban="DE89370400440532013000")
    plain = credit_fact_table(model, people, applicant_id=i, method="reg_b_mean")
    raw = plain.to_json()
    assert b"Mustermann" not in raw and b"DE8937" not in raw  # not model inputs: never facts
    # a model input declared PII is left out of contributions and reasons too
    t = credit_fact_table(model, people, applicant_id=i, method="reg_b_mean",
                          drop_columns=["telephone", "full_name"])
    assert "telephone" in {f.name for f in plain.of_kind("contribution")}
    assert b"telephone" not in t.to_json()
    assert len(t.of_kind("contribution")) == len(X.columns) - 1 - len(GERMAN_PROTECTED)
    # the record hash covers what decided (model inputs), whatever extra columns came along
    assert t["data"].value == plain["data"].value == \
        credit_fact_table(model, X, applicant_id=i, method="reg_b_mean")["data"].value


def test_model_and_data_identity(german, model, coder, tmp_path) -> None:
    X, _ = german
    path = tmp_path / "model.json"
    path.write_bytes(orjson.dumps(model.to_dict()))
    t = credit_fact_table(model, X, applicant_id=0, reasons=coder, model_file=path)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    assert t["model"].value == f"sha256:{sha[:12]}" and t["model"].detail["sha256"] == sha
    assert t["model"].detail["created"] == "2026-12-07T12:00:00Z"
    assert t["model"].detail["run_id"] == RUN_ID
    assert model_version(model)["source"] == "json"
    record = {c: X.loc[0, c] for c in X.columns}
    assert t["data"].value == f"sha256:{record_hash(record)}"
    changed = X.copy()
    changed.loc[0, "duration_months"] += 1
    other = credit_fact_table(model, changed, applicant_id=0, reasons=coder)
    assert other["data"].value != t["data"].value


def test_top_n_and_parameter_errors(german, model, coder) -> None:
    X, _ = german
    t = credit_fact_table(model, X, applicant_id=0, reasons=coder, top_n=5)
    assert [f.id for f in t.of_kind("contribution")] == ["c1", "c2", "c3", "c4", "c5"]
    with pytest.raises(ParameterError, match="`top_n` of credit_fact_table must be None or "
                                             "an int >= 1; got 0"):
        credit_fact_table(model, X, applicant_id=0, reasons=coder, top_n=0)
    with pytest.raises(ParameterError, match="differs from the given ReasonCoder's"):
        credit_fact_table(model, X, applicant_id=0, reasons=coder, method="reg_b_mean")
    with pytest.raises(ParameterError, match="must be a fitted ReasonCoder"):
        credit_fact_table(model, X, applicant_id=0, reasons=ReasonCoder(model=model))


def test_shap_tree_model_facts(german) -> None:
    pytest.importorskip("shap")
    xgboost = pytest.importorskip("xgboost")
    from sklearn.pipeline import Pipeline

    from riskscope.datasets._german_codes import NUMERIC
    from riskscope.models.credit import one_hot

    X, y = german
    X, y = X.iloc[:200], y[:200]
    num = [c for c in X if c in NUMERIC]
    cat = [c for c in X if c not in NUMERIC]
    tree = Pipeline([("prep", one_hot(num, cat, scale=False, impute=False)),
                     ("model", xgboost.XGBClassifier(n_estimators=20, max_depth=3, n_jobs=1,
                                                     random_state=0))]).fit(X, y)
    p = tree.predict_proba(X)[:, 1]
    i = int(np.argmax(p))
    t = credit_fact_table(tree, X, applicant_id=i, method="shap", top_n=6)
    assert t.decision.value == "deny" and "score" not in t and "cutoff_score" not in t
    assert t["p_bad"].value == pytest.approx(p[i], rel=1e-6)
    assert t["model"].value == "Pipeline"  # no file and no JSON form: named, not hashed
    assert len(t.of_kind("contribution")) == 6
    assert not {f.detail["feature"] for f in t.of_kind("reason")} & set(GERMAN_PROTECTED)


def test_batch_equals_one_shot_byte_for_byte(german, model, coder, scored) -> None:
    X, _ = german
    ids = [*_denied(scored)[:5], 0, 2, 999]
    batch = credit_fact_tables(model, X, ids=ids, reasons=coder, drop_columns=["job"])
    assert list(batch) == ids
    for i in ids:
        one = credit_fact_table(model, X, applicant_id=i, reasons=coder, drop_columns=["job"])
        assert batch[i].to_json() == one.to_json()
    with pytest.raises(SchemaError, match=r"^Applicant id 'x' not found among 1000"):
        credit_fact_tables(model, X, ids=[0, "x"], reasons=coder)
    assert credit_fact_tables(model, X, ids=[], reasons=coder) == {}


def test_protected_contributions_only_when_asked(german, model, coder, scored) -> None:
    X, _ = german
    i = _denied(scored)[0]
    default = credit_fact_table(model, X, applicant_id=i, reasons=coder)
    names = {f.name for f in default}
    assert not names & set(GERMAN_PROTECTED)
    assert not any(f.feature_value == X.loc[i, "age_years"] and "age" in f.name
                   for f in default)
    full = credit_fact_table(model, X, applicant_id=i, reasons=coder,
                             protected_contributions=True)
    flagged = {f.name for f in full.of_kind("contribution") if f.detail["protected"]}
    assert flagged == set(GERMAN_PROTECTED)
    assert not {f.detail["feature"] for f in full.of_kind("reason")} & set(GERMAN_PROTECTED)


def test_saved_model_file_is_the_model_fact(german, model, tmp_path) -> None:
    """The model.json a `credit run` writes, loaded as `credit score` loads it."""
    X, _ = german
    path = tmp_path / "run" / "model" / "model.json"
    path.parent.mkdir(parents=True)
    path.write_bytes(orjson.dumps(model.to_dict()))
    loaded, file, _ = load_credit_model(tmp_path / "run")
    coder = ReasonCoder(model=loaded, method="reg_b_cutoff").fit(X)
    assert coder.threshold_ == model.cutoff.threshold  # the saved cut-off decides
    t = credit_fact_table(loaded, X, applicant_id=7, reasons=coder, model_file=file)
    assert t["model"].value == "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    assert t["cutoff"].value == model.cutoff.threshold


def test_single_record_with_a_saved_reference(german, model, coder, scored) -> None:
    """A later applicant, alone, explained against the saved cut-off band."""
    X, _ = german
    i = _denied(scored)[4]
    saved = ReasonCoder.from_dict(model, orjson.loads(orjson.dumps(coder.to_dict())))
    alone = credit_fact_table(model, X.loc[i], applicant_id=i, reasons=saved)
    assert alone.to_json() == credit_fact_table(model, X, applicant_id=i,
                                                reasons=coder).to_json()
