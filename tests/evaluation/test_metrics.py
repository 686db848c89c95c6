"""Tests for riskscope.evaluation.metrics and riskscope.evaluation.plots."""

from __future__ import annotations

import inspect
import json

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from sklearn import metrics as skm

from riskscope.evaluation import metrics, plots
from riskscope.exceptions import ParameterError
from riskscope.report.plots import figure_to_png

CLASSES = ["BENIGN", "DoS", "PortScan", "Bot"]


def _predictions(n: int = 3000, seed: int = 0, accuracy: float = 0.85):
    rng = np.random.default_rng(seed)
    y = rng.choice(CLASSES, n, p=[0.6, 0.25, 0.1, 0.05])
    noise = rng.choice(CLASSES, n)
    pred = np.where(rng.random(n) < accuracy, y, noise)
    return y, pred


def _scores(n: int = 2000, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.3).astype(int)
    score = np.round(y * 0.8 + rng.normal(0, 0.5, n), 2)  # rounded: ties on purpose
    return y, score


# -------------------------------------------------------------------------------- tables


@pytest.mark.parametrize("labels", [None, CLASSES, ["DoS", "PortScan", "Bot"]])
def test_classification_table_matches_sklearn(labels):
    y, pred = _predictions()
    table = metrics.classification_table(y, pred, labels=labels)
    names = labels or sorted(CLASSES)
    p, r, f, s = skm.precision_recall_fscore_support(y, pred, labels=names, zero_division=0)
    np.testing.assert_allclose(table.loc[names, "precision"], p)
    np.testing.assert_allclose(table.loc[names, "recall"], r)
    np.testing.assert_allclose(table.loc[names, "f1"], f)
    assert table.loc[names, "support"].tolist() == s.tolist()
    for avg in ("macro", "weighted"):
        ref = skm.precision_recall_fscore_support(
            y, pred, labels=names, average=avg, zero_division=0
        )
        np.testing.assert_allclose(
            table.loc[f"{avg} avg", ["precision", "recall", "f1"]].to_numpy(dtype=float), ref[:3]
        )
    assert table.loc["macro avg", "support"] == s.sum()


def test_classification_table_unpredicted_and_absent_classes_score_zero():
    table = metrics.classification_table(["a", "a", "b"], ["a", "a", "a"], labels=["a", "b", "c"])
    assert table.loc["b", ["precision", "recall", "f1"]].tolist() == [0.0, 0.0, 0.0]
    assert table.loc["c", "support"] == 0
    expected = skm.f1_score(
        ["a", "a", "b"], ["a", "a", "a"], labels=["a", "b", "c"], average="macro", zero_division=0
    )
    assert table.loc["macro avg", "f1"] == pytest.approx(expected)


def test_confusion_matches_sklearn_and_refuses_unlisted_labels():
    y, pred = _predictions()
    cm = metrics.confusion(y, pred, labels=CLASSES)
    np.testing.assert_array_equal(cm.to_numpy(), skm.confusion_matrix(y, pred, labels=CLASSES))
    assert cm.index.name == "true" and cm.columns.name == "predicted"
    with pytest.raises(ParameterError, match=r"labels missing from `labels`: \['PortScan'\]"):
        metrics.confusion(y, pred, labels=["BENIGN", "DoS", "Bot"])
    with pytest.raises(ParameterError, match="`y_true` has 3 rows but `y_pred` has 2"):
        metrics.confusion([1, 2, 3], [1, 2])


# -------------------------------------------------------------------------------- curves


def test_pr_curves_match_sklearn_one_vs_rest():
    y, _ = _predictions(1500)
    rng = np.random.default_rng(1)
    proba = rng.dirichlet(np.ones(4), size=y.size)
    proba[np.arange(y.size), [CLASSES.index(c) for c in y]] += 0.5
    order = ["Bot", "BENIGN", "Absent", "DoS", "PortScan"]
    proba5 = np.column_stack(
        [proba[:, CLASSES.index(c)] if c in CLASSES else np.zeros(y.size) for c in order]
    )
    curves = metrics.pr_curves(y, proba5, order)
    for c in CLASSES:
        column = proba5[:, order.index(c)]
        assert curves[c].average_precision == pytest.approx(
            skm.average_precision_score(y == c, column)
        )
        precision, recall, thresholds = skm.precision_recall_curve(y == c, column)
        np.testing.assert_allclose(curves[c].precision, precision)
        np.testing.assert_allclose(curves[c].recall, recall)
        np.testing.assert_allclose(curves[c].thresholds, thresholds)
        assert curves[c].n_positive == (y == c).sum()
    assert np.isnan(curves["Absent"].average_precision)
    frame = curves.to_frame()
    assert frame.index.tolist() == order
    by_name = metrics.pr_curves(y, pd.DataFrame(proba5, columns=order), CLASSES)
    assert [c.label for c in by_name] == CLASSES
    with pytest.raises(ParameterError, match="one column per class \\(4\\)"):
        metrics.pr_curves(y, proba5, CLASSES)


def test_binary_scores_match_sklearn():
    y, score = _scores()
    s = metrics.binary_scores(y, score)
    assert s.roc_auc == pytest.approx(skm.roc_auc_score(y, score))
    assert s.pr_auc == pytest.approx(skm.average_precision_score(y, score))
    assert (s.n_positive, s.n_negative) == (y.sum(), (1 - y).sum())
    fpr, tpr, _ = skm.roc_curve(y, score, drop_intermediate=True)
    np.testing.assert_allclose(s.fpr, fpr)
    np.testing.assert_allclose(s.tpr, tpr)
    precision, recall, _ = skm.precision_recall_curve(y, score)
    np.testing.assert_allclose(s.precision, precision)
    np.testing.assert_allclose(s.recall, recall)
    assert json.dumps(s.to_dict())
    with pytest.raises(ParameterError, match="both benign \\(0\\) and attack \\(1\\)"):
        metrics.binary_scores([1, 1], [0.2, 0.3])
    with pytest.raises(ParameterError, match="must hold 0 \\(benign\\) and 1 \\(attack\\)"):
        metrics.binary_scores(["a", "b"], [0.2, 0.3])


# ---------------------------------------------------------------------------- thresholds


def test_threshold_api_takes_only_validation_arrays():
    params = list(inspect.signature(metrics.choose_threshold).parameters)
    assert params == ["y_val_binary", "score_val", "max_fpr", "objective"]
    params = list(inspect.signature(metrics.fpr_threshold).parameters)
    assert params == ["y_val_binary", "score_val", "fpr"]


def test_choose_threshold_hand_calculation():
    y_val = [0, 0, 0, 1, 1, 1]
    s_val = [0.1, 0.3, 0.6, 0.5, 0.7, 0.9]
    # score >= t: t=0.9 -> F1 2/4; 0.7 -> 4/5; 0.6 -> 4/6; 0.5 -> 6/7 (best); 0.3 -> 6/8
    t = metrics.choose_threshold(y_val, s_val)
    assert t.value == 0.5
    assert t.metric == pytest.approx(6 / 7)
    assert (t.precision, t.recall, t.fpr, t.n_val) == (0.75, 1.0, pytest.approx(1 / 3), 6)
    # At most 0 false positives: 0.7 is the lowest threshold that keeps fpr = 0.
    strict = metrics.choose_threshold(y_val, s_val, max_fpr=0.0)
    assert strict.value == 0.7 and strict.fpr == 0.0
    assert metrics.choose_threshold(y_val, s_val, objective="recall", max_fpr=0.0).value == 0.7
    assert metrics.choose_threshold(y_val, s_val, objective="youden").value == 0.5
    # Test data a caller might hold changes nothing: only the arrays passed matter.
    assert metrics.choose_threshold(np.array(y_val), np.array(s_val)) == t


def test_choose_threshold_equals_brute_force_and_applies_with_predict():
    y, score = _scores(seed=3)
    t = metrics.choose_threshold(y, score)
    best = 0.0
    for v in np.unique(score):  # F1 of "score >= v" for every candidate, by hand
        tp = np.sum((score >= v) & (y == 1))
        best = max(best, 2 * tp / (np.sum(score >= v) + y.sum()))
    assert t.metric == pytest.approx(best)
    assert skm.f1_score(y, t.predict(score)) == pytest.approx(t.metric)
    assert t.predict(score).dtype == np.int8
    limited = metrics.choose_threshold(y, score, max_fpr=0.01)
    assert limited.fpr <= 0.01
    assert np.mean(limited.predict(score)[y == 0]) == pytest.approx(limited.fpr)


def test_choose_threshold_errors():
    with pytest.raises(ParameterError, match="objective='recall' .* needs `max_fpr`"):
        metrics.choose_threshold([0, 1], [0.1, 0.9], objective="recall")
    with pytest.raises(ParameterError, match="`objective` of choose_threshold must be one of"):
        metrics.choose_threshold([0, 1], [0.1, 0.9], objective="auc")
    with pytest.raises(ParameterError, match="got 0 benign and 2 attack"):
        metrics.choose_threshold([1, 1], [0.1, 0.9])


def test_fpr_threshold_is_the_benign_validation_quantile():
    rng = np.random.default_rng(0)
    y_val = (rng.random(1000) < 0.2).astype(int)
    s_val = rng.normal(size=1000) + 2 * y_val
    t = metrics.fpr_threshold(y_val, s_val, fpr=0.01)
    q = np.quantile(s_val[y_val == 0], 0.99, method="higher")
    assert t.value == np.nextafter(q, np.inf)
    flagged_benign = s_val[y_val == 0] > q
    assert t.fpr == pytest.approx(flagged_benign.mean()) and t.fpr <= 0.01
    np.testing.assert_array_equal(t.predict(s_val), (s_val > q).astype(np.int8))


def test_recall_at_fpr_on_held_out_attacks():
    val_y = np.r_[np.zeros(200), np.ones(20)]
    val_s = np.r_[np.arange(200) / 200, np.full(20, 5.0)]  # benign scores 0.000 ... 0.995
    q = np.quantile(val_s[:200], 0.95, method="higher")  # 0.95
    held_out = np.array([0.5, 0.95, 0.96, 3.0])  # only attacks: no benign rows to judge
    r = metrics.recall_at_fpr(np.ones(4), held_out, 0.05, y_val=val_y, score_val=val_s)
    assert r.threshold == np.nextafter(q, np.inf)
    assert r.recall == 0.5  # 0.96 and 3.0 are strictly above 0.95
    assert r.fpr_val == pytest.approx(0.045)
    assert np.isnan(r.fpr_eval) and r.n_negative == 0
    with pytest.raises(ParameterError, match="needs benign \\(0\\) validation rows"):
        metrics.recall_at_fpr([1], [0.5], y_val=[1, 1], score_val=[0.1, 0.2])


# ----------------------------------------------------------------------------- bootstrap


def test_bootstrap_ci_is_seeded_and_covers_the_estimate():
    y, pred = _predictions()
    a = metrics.bootstrap_ci("macro_f1", y, pred, n=500, seed=7)
    b = metrics.bootstrap_ci("macro_f1", y, pred, n=500, seed=7)
    c = metrics.bootstrap_ci("macro_f1", y, pred, n=500, seed=8)
    assert a == b and a != c
    assert a.low < a.estimate < a.high
    assert a.estimate == pytest.approx(skm.f1_score(y, pred, average="macro"))
    assert json.loads(json.dumps(a.to_dict()))["metric"] == "macro_f1"


@pytest.mark.parametrize(
    ("name", "reference"),
    [
        ("accuracy", skm.accuracy_score),
        ("weighted_f1", lambda a, b: skm.f1_score(a, b, average="weighted")),
        ("balanced_accuracy", skm.balanced_accuracy_score),
        ("macro_recall", lambda a, b: skm.recall_score(a, b, average="macro")),
    ],
)
def test_confusion_metric_estimates_match_sklearn(name, reference):
    y, pred = _predictions(800, seed=2)
    assert metrics.bootstrap_ci(name, y, pred, n=20, seed=0).estimate == pytest.approx(
        reference(y, pred)
    )


def test_multinomial_bootstrap_agrees_with_the_row_bootstrap():
    y, pred = _predictions(1000, seed=4)
    fast = metrics.bootstrap_ci("macro_f1", y, pred, n=300, seed=1)
    slow = metrics.bootstrap_ci(
        lambda a, b: skm.f1_score(a, b, average="macro"), y, pred, n=300, seed=1
    )
    assert slow.estimate == pytest.approx(fast.estimate)
    width = fast.high - fast.low
    assert abs(fast.low - slow.low) < 0.25 * width
    assert abs(fast.high - slow.high) < 0.25 * width


def test_binary_and_score_metrics():
    y, score = _scores()
    pred = (score > 0.4).astype(int)
    assert metrics.bootstrap_ci("recall", y, pred, n=50, seed=0).estimate == pytest.approx(
        skm.recall_score(y, pred)
    )
    auc = metrics.bootstrap_ci("roc_auc", y, score, n=200, seed=0)
    assert auc.estimate == pytest.approx(skm.roc_auc_score(y, score))
    assert auc.low < auc.estimate < auc.high
    ap = metrics.bootstrap_ci("average_precision", y, score, n=50, seed=0)
    assert ap.estimate == pytest.approx(skm.average_precision_score(y, score))


def test_bootstrap_ci_parameter_errors():
    with pytest.raises(ParameterError, match="`metric_fn` of bootstrap_ci must be"):
        metrics.bootstrap_ci("auc", [0, 1], [0, 1], seed=0)
    with pytest.raises(ParameterError, match="`n` of bootstrap_ci must be an int >= 1"):
        metrics.bootstrap_ci("accuracy", [0, 1], [0, 1], n=0, seed=0)
    with pytest.raises(ParameterError, match="`alpha` of bootstrap_ci"):
        metrics.bootstrap_ci("accuracy", [0, 1], [0, 1], seed=0, alpha=1.5)


# --------------------------------------------------------------------------------- plots


def test_plots_return_agg_figures():
    y, pred = _predictions(400)
    cm = metrics.confusion(y, pred, labels=CLASSES)
    fig = plots.confusion_heatmap(cm)
    assert isinstance(fig, Figure)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert len(texts) == int((cm.to_numpy() > 0).sum())  # one annotation per non-empty cell
    row = cm.loc["DoS"]
    assert f"{row['DoS'] / row.sum() * 100:.1f}" in texts
    rng = np.random.default_rng(0)
    curves = metrics.pr_curves(y, rng.dirichlet(np.ones(4), y.size), CLASSES)
    ys, score = _scores(300)
    figures = [
        fig,
        curves.plot(),
        plots.roc_curve_plot(
            {"a": metrics.binary_scores(ys, score), "b": metrics.binary_scores(ys, -score)}
        ),
        plots.correlation_heatmap(
            pd.DataFrame([[1.0, np.nan], [np.nan, 1.0]], index=["x", "y"], columns=["x", "y"])
        ),
    ]
    for f in figures:
        assert isinstance(f, Figure)
        assert figure_to_png(f, dpi=30).startswith(b"\x89PNG")
    with pytest.raises(ParameterError, match="square, non-empty DataFrame"):
        plots.confusion_heatmap(cm.iloc[:, :2])
