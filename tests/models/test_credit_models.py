"""The tuned and ensemble credit models: scikit-learn's contract and no leakage.

What must hold: each new model clones, fits and gives P(bad) like any classifier; the same
rows give the same model, whatever the column order; everything it learns (encoders, WOE
bins, inner-CV tuning, stacking weights) only ever sees the rows given to ``fit``, with
inner folds that are strict subsets of them; other training rows give other settings.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone, is_classifier
from sklearn.compose import ColumnTransformer
from sklearn.model_selection import StratifiedKFold

from riskscope.datasets import load_german_credit
from riskscope.io.credit import read_credit
from riskscope.models.credit import tuning_record
from riskscope.pipelines.credit import DEFAULT_MODELS, MODELS, CreditConfig, make_model
from riskscope.scorecard import WoeBinner

NEW = ("lr_tuned", "xgboost_tuned", "soft_vote", "stack")
# Small inner CV and search so that each fit takes about a second.
CFG = CreditConfig(inner_folds=3, xgb_tune_iter=3)


@pytest.fixture(scope="module")
def german() -> tuple[pd.DataFrame, np.ndarray, list[str], list[str]]:
    """300 German-credit rows with a few missing cells (numeric and categorical)."""
    df = load_german_credit()
    df = df.sample(300, random_state=0).reset_index(drop=True)
    d = read_credit(df, target="class")
    X = d.X.copy()
    X.loc[::17, d.numeric[0]] = np.nan
    X.loc[::23, d.categorical[0]] = np.nan
    # a non-default index: a leak shows up as a row label outside the training rows
    X.index = np.arange(1000, 1000 + len(X))
    return X, d.y, d.numeric, d.categorical


def _split(X: pd.DataFrame, y: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    return next(iter(StratifiedKFold(3, shuffle=True, random_state=seed).split(X, y)))


@pytest.mark.parametrize("name", NEW)
def test_clone_fit_predict_proba(name: str, german) -> None:
    X, y, num, cat = german
    est = make_model(name, CFG, num, cat, seed=0)
    assert is_classifier(est)
    twin = clone(est)
    assert sorted(twin.get_params()) == sorted(est.get_params())
    train, test = _split(X, y)
    p = est.fit(X.iloc[train], y[train]).predict_proba(X.iloc[test])
    assert p.shape == (len(test), 2) and np.allclose(p.sum(axis=1), 1.0)
    assert list(est.classes_) == [0, 1]
    assert set(est.predict(X.iloc[test])) <= {0, 1}
    # the clone, on the same rows with the columns in another order (they go by name),
    # gives the same model
    cols = list(X.columns)[::-1]
    q = twin.fit(X.iloc[train][cols], y[train]).predict_proba(X.iloc[test][cols])
    np.testing.assert_allclose(p, q, atol=1e-8)


@pytest.mark.parametrize("name", NEW)
def test_everything_learned_sees_only_the_training_rows(name: str, german,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Spy on every encoder and WOE binner the model fits or applies during ``fit``."""
    X, y, num, cat = german
    seen: list[frozenset] = []

    def spy(cls: type, method: str) -> None:
        real = getattr(cls, method)

        def wrapped(self, X, *args, **kwargs):
            seen.append(frozenset(X.index))
            return real(self, X, *args, **kwargs)

        monkeypatch.setattr(cls, method, wrapped)

    for method in ("fit", "fit_transform", "transform"):
        spy(ColumnTransformer, method)
    spy(WoeBinner, "fit")
    train, test = _split(X, y)
    rows = frozenset(X.index[train])
    est = make_model(name, CFG, num, cat, seed=0).fit(X.iloc[train], y[train])
    assert seen, "the spy saw no fit"
    assert all(s <= rows for s in seen), "a fit saw rows outside the training rows"
    if name in ("xgboost_tuned", "stack"):  # they cross-validate inside the rows given
        assert any(s < rows for s in seen), "no inner fold: nothing was cross-validated"
    if name == "lr_tuned":  # label-free encoding of the rows given, then an inner-CV path
        assert set(seen) == {rows}
        assert np.asarray(est[-1].scores_).shape[0] == CFG.inner_folds


@pytest.mark.parametrize("name", ("lr_tuned", "xgboost_tuned", "stack"))
def test_learned_settings_follow_the_training_rows(name: str, german) -> None:
    X, y, num, cat = german
    est = make_model(name, CFG, num, cat, seed=0)
    records = []
    for seed in (0, 1):  # two different training sets (the same set: the clone test)
        train, _ = _split(X, y, seed)
        records.append(tuning_record(clone(est).fit(X.iloc[train], y[train])))
    key = "inner_roc_auc" if name != "stack" else "weight_lr_woe"
    assert records[0][key] != records[1][key]  # other rows, other inner results
    if name == "stack":
        assert sorted(records[0]) == ["intercept", "weight_lr_woe", "weight_rf", "weight_svm",
                                      "weight_xgboost"]
    else:
        assert 0.5 < records[0]["inner_roc_auc"] < 1


def test_model_names_and_default_set() -> None:
    assert set(NEW) <= set(MODELS) and MODELS[:7] == ("iv_xgb_rf", "rf", "lr_woe", "svm",
                                                      "mlp", "xgboost", "lightgbm")
    assert CreditConfig().models == DEFAULT_MODELS
    assert {"lr_tuned", "soft_vote"} <= set(DEFAULT_MODELS)
    assert not {"xgboost_tuned", "stack"} & set(DEFAULT_MODELS)
    assert CreditConfig(models=("stack", "xgboost_tuned")).models == ("stack", "xgboost_tuned")


def test_soft_vote_is_the_mean_of_its_members(german) -> None:
    X, y, num, cat = german
    train, test = _split(X, y)
    vote = make_model("soft_vote", CFG, num, cat, seed=0).fit(X.iloc[train], y[train])
    members = [make_model(m, CFG, num, cat, seed=0).fit(X.iloc[train], y[train])
               for m, _ in vote.estimators]
    mean = np.mean([m.predict_proba(X.iloc[test]) for m in members], axis=0)
    np.testing.assert_allclose(vote.predict_proba(X.iloc[test]), mean, atol=1e-10)
