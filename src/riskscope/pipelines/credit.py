"""Credit scoring with IV + XGBoost feature selection, as named stages (seed 001).

ingest -> describe (whole data, descriptive only) -> evaluate (repeated stratified CV of
every model) -> compare (corrected resampled t-test) -> final scorecard (the WOE
scorecard refitted on every row, its cut-off and monitoring reference saved as JSON for
``credit score`` / ``credit monitor``: :mod:`riskscope.pipelines.credit_score`) -> report.

The point is honesty: every bin, WOE, IV, correlation drop, XGBoost ranking, chosen
feature count and grid-search winner of the evaluated models is learned inside each
outer training fold. The ``describe`` stage bins the whole table once, for the report's
IV table beside the paper's Table 3; nothing it learns reaches the evaluation.
"""

from __future__ import annotations

import operator
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline

from riskscope.config import Settings, seed_everything
from riskscope.exceptions import ParameterError, SchemaError
from riskscope.models.credit import (
    one_hot,
    soft_vote,
    stacked,
    tuned_logistic,
    tuned_xgboost,
    tuning_record,
)
from riskscope.pipelines._stages import Stage, StageProgress, run_stages
from riskscope.report.run import start_run
from riskscope.scorecard import (
    IVFilter,
    Scorecard,
    WoeBinner,
    WoeCorrelationFilter,
    XGBStepwiseSelector,
)

__all__ = ["CreditConfig", "DEFAULT_MODELS", "ENSEMBLE_MEMBERS", "IVXGBoostRF", "MODELS",
           "choices_table", "make_model", "run_credit", "tuning_table"]

#: Every model `credit run` can evaluate; the paper's method first, then its comparison
#: models, then the tuned and ensemble models (:mod:`riskscope.models.credit`).
MODELS = ("iv_xgb_rf", "rf", "lr_woe", "svm", "mlp", "xgboost", "lightgbm", "lr_tuned",
          "xgboost_tuned", "soft_vote", "stack")
#: What `credit run` evaluates unless told: all but the two costliest (xgboost_tuned fits
#: ~100 models per outer fold, stack refits its members 6 times), which keeps the full 5x5
#: run on German credit within 5 minutes on 2 cores (4 m 23 s; BENCHMARKS.md).
DEFAULT_MODELS = tuple(m for m in MODELS if m not in ("xgboost_tuned", "stack"))
#: The members of soft_vote and stack: four diverse models, each as evaluated alone.
ENSEMBLE_MEMBERS = ("lr_woe", "rf", "xgboost", "svm")
#: Models whose per-fold fits choose something (see :func:`riskscope.models.credit.tuning_record`).
TUNED_MODELS = ("lr_tuned", "xgboost_tuned", "stack")
_BUNDLED_GERMAN = "german_credit"


class CreditConfig(BaseModel):
    """Settings of ``riskscope credit run`` (``[credit]`` in a config file).

    The random-forest grid is small on purpose: the paper settled on ``n_estimators=104``
    (from a learning curve), ``max_features=4`` and ``min_samples_split=3``; the grid
    brackets those two values (2/4/6, 2/3/5) and is searched by ``inner_folds``-fold CV
    inside every outer training fold. The seed is the global ``--seed``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    data: str = Field(_BUNDLED_GERMAN, description="Credit table (CSV/text/Parquet) or a "
                      "dataset name; default the bundled German credit.")
    target: str | None = Field(None, description="Target column (default: the last one, or "
                               "the dataset's label column).")
    bad: str | None = Field(None, description="Target value meaning bad (inferred only for "
                            "good/bad and 0/1).")
    folds: int = Field(5, ge=2, le=20, description="Outer stratified folds.")
    repeats: int = Field(5, ge=1, le=50, description="Repeats of the outer CV.")
    models: tuple[str, ...] = DEFAULT_MODELS
    iv_threshold: float = Field(0.02, ge=0)
    corr_threshold: float = Field(0.7, gt=0, le=1)
    inner_folds: int = Field(5, ge=2, le=20, description="Folds of every inner CV (the "
                             "XGBoost count choice, the RF grid, lr_tuned's and "
                             "xgboost_tuned's searches, stack's weights), inside each outer "
                             "training fold.")
    xgb_tune_iter: int = Field(20, ge=1, description="Settings xgboost_tuned tries.")
    rf_n_estimators: int = Field(104, ge=1, description="Trees of the tuned RF (paper: 104).")
    rf_max_features: tuple[int, ...] = (2, 4, 6)
    rf_min_samples_split: tuple[int, ...] = (2, 3, 5)
    n_jobs: int = Field(1, description="Outer folds run in parallel when not 1 (-1: all cores).")
    bad_cost: float = Field(1.0, gt=0, description="Cost of approving a bad applicant "
                            "relative to declining a good one, for the final model's cut-off "
                            "(1: best accuracy; German credit's documented ratio is 5).")
    pdo: float = Field(20.0, gt=0, description="Scorecard points to double the odds.")
    base_score: float = Field(600.0, description="Score at the base odds.")
    base_odds: float = Field(50.0, gt=0, description="Good:bad odds at the base score.")

    @field_validator("models")
    @classmethod
    def _known_models(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        bad = [m for m in v if m not in MODELS]
        if bad or not v:
            raise ValueError(f"unknown models {bad or '(none given)'}; choose from "
                             f"{', '.join(MODELS)}")
        return tuple(dict.fromkeys(v))

    @field_validator("rf_max_features", "rf_min_samples_split")
    @classmethod
    def _grid(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if not v or min(v) < 1:
            raise ValueError("a grid needs at least one value, all >= 1")
        return tuple(sorted(set(v)))


# --------------------------------------------------------------------------- models
class IVXGBoostRF(ClassifierMixin, BaseEstimator):
    """The paper's IV-XGBoost-RF: correlation and IV filters, XGBoost count, tuned RF.

    In :meth:`fit`, on the rows given only: bin every column once (decision-tree optimal
    binning, WOE); drop the lower-IV member of each pair with |r| of WOE above
    ``corr_threshold``; drop IV < ``iv_threshold``; rank the rest by XGBoost gain and keep
    the count with the best ``inner_folds``-fold accuracy; then grid-search a random forest
    on the kept columns' WOE. It equals ``make_pipeline(WoeCorrelationFilter(),
    IVFilter(), XGBStepwiseSelector(), WoeBinner(), GridSearchCV(RF))`` except that the
    four steps share one binner fitted on the same rows (each would fit an identical one),
    which makes it four times cheaper.

    Attributes
    ----------
    binner_ : WoeBinner
    corr_, iv_filter_, selector_ : the fitted selection steps
    features_ : list of str
        The columns the forest uses.
    search_ : GridSearchCV
    choices_ : dict
        What this fit chose, JSON-able: ``n_after_correlation``, ``n_after_iv``,
        ``n_features`` and ``features`` (the kept columns, by XGBoost rank),
        ``stepwise_accuracy`` (inner CV accuracy of the chosen count), the grid winner's
        ``max_features`` and ``min_samples_split`` and its inner CV ``grid_accuracy``.
    classes_ : ndarray
    """

    def __init__(self, *, iv_threshold: float = 0.02, corr_threshold: float = 0.7,
                 inner_folds: int = 5, n_estimators: int = 104,
                 max_features: tuple[int, ...] = (2, 4, 6),
                 min_samples_split: tuple[int, ...] = (2, 3, 5),
                 xgb_params: dict | None = None, random_state: int = 0) -> None:
        self.iv_threshold = iv_threshold
        self.corr_threshold = corr_threshold
        self.inner_folds = inner_folds
        self.n_estimators = n_estimators
        self.max_features = max_features
        self.min_samples_split = min_samples_split
        self.xgb_params = xgb_params
        self.random_state = random_state

    def _woe(self, X: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({c: self.binner_.tables_[c].transform(X[c]) for c in self.features_},
                            index=X.index, columns=self.features_)

    def fit(self, X: pd.DataFrame, y: Any) -> IVXGBoostRF:
        from sklearn.ensemble import RandomForestClassifier

        y = np.asarray(y)
        self.binner_ = WoeBinner().fit(X, y)
        shared = {"binner": self.binner_, "prefit": True}
        self.corr_ = WoeCorrelationFilter(threshold=self.corr_threshold, **shared).fit(X, y)
        X1 = self.corr_.transform(X)
        self.iv_filter_ = IVFilter(threshold=self.iv_threshold, **shared).fit(X1, y)
        X2 = self.iv_filter_.transform(X1)
        if X2.shape[1] == 0:  # nothing passes the IV cut: keep the best column, say so
            X2 = X1[[self.iv_filter_.iv_.index[0]]]
        self.selector_ = XGBStepwiseSelector(cv=self.inner_folds, xgb_params=self.xgb_params,
                                             random_state=self.random_state,
                                             **shared).fit(X2, y)
        self.features_ = list(self.selector_.selected_)
        n = len(self.features_)
        grid = {"max_features": sorted({min(m, n) for m in self.max_features}),
                "min_samples_split": list(self.min_samples_split)}
        rf = RandomForestClassifier(n_estimators=self.n_estimators, n_jobs=1,
                                    random_state=self.random_state)
        inner = StratifiedKFold(self.inner_folds, shuffle=True, random_state=self.random_state)
        self.search_ = GridSearchCV(rf, grid, cv=inner, scoring="accuracy", n_jobs=1)
        self.search_.fit(self._woe(X), y)
        best = self.selector_.scores_.set_index("n_features")["mean"]
        self.choices_ = {
            "n_after_correlation": int(X1.shape[1]), "n_after_iv": int(X2.shape[1]),
            "n_features": n, "features": list(map(str, self.features_)),
            "stepwise_accuracy": float(best.loc[n]),
            "max_features": int(self.search_.best_params_["max_features"]),
            "min_samples_split": int(self.search_.best_params_["min_samples_split"]),
            "grid_accuracy": float(self.search_.best_score_),
        }
        self.classes_ = self.search_.classes_
        self.n_features_in_ = X.shape[1]
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return self.search_.predict_proba(self._woe(X))

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


def make_model(name: str, cfg: CreditConfig, numeric: list[str], categorical: list[str],
               seed: int) -> Any:
    """A fresh, unfitted estimator for model ``name`` (see :data:`MODELS`).

    rf, svm and mlp see one-hot categoricals and median-imputed numerics (plus missing
    indicators; svm and mlp standardised); xgboost and lightgbm one-hot categoricals and
    raw numerics (they route missing values themselves); lr_woe is the WOE scorecard.
    lr_tuned and xgboost_tuned choose their settings by ``inner_folds``-fold CV on ROC-AUC
    within the rows they are fitted on; soft_vote averages the P(bad) of
    :data:`ENSEMBLE_MEMBERS` and stack weighs them by a logistic regression learned on
    their inner-CV P(bad) (:mod:`riskscope.models.credit`).
    """
    if name in ("soft_vote", "stack"):
        members = [(m, make_model(m, cfg, numeric, categorical, seed)) for m in ENSEMBLE_MEMBERS]
        if name == "soft_vote":
            return soft_vote(members)
        return stacked(members, inner_folds=cfg.inner_folds, seed=seed)
    if name == "lr_tuned":
        return tuned_logistic(numeric, categorical, inner_folds=cfg.inner_folds, seed=seed)
    if name == "xgboost_tuned":
        return tuned_xgboost(numeric, categorical, inner_folds=cfg.inner_folds, seed=seed,
                             n_iter=cfg.xgb_tune_iter)
    if name == "iv_xgb_rf":
        return IVXGBoostRF(iv_threshold=cfg.iv_threshold, corr_threshold=cfg.corr_threshold,
                           inner_folds=cfg.inner_folds, n_estimators=cfg.rf_n_estimators,
                           max_features=cfg.rf_max_features,
                           min_samples_split=cfg.rf_min_samples_split, random_state=seed)
    if name == "lr_woe":
        return Scorecard()
    if name == "rf":
        from sklearn.ensemble import RandomForestClassifier

        model: Any = RandomForestClassifier(n_jobs=1, random_state=seed)
        return Pipeline([("prep", one_hot(numeric, categorical, scale=False, impute=True)),
                         ("model", model)])
    if name in ("svm", "mlp"):
        if name == "svm":
            from sklearn.calibration import CalibratedClassifierCV
            from sklearn.svm import SVC

            # Platt scaling on internal CV predictions: SVC(probability=True)'s replacement.
            model = CalibratedClassifierCV(SVC(random_state=seed), method="sigmoid",
                                           ensemble=False, cv=5)
        else:
            from sklearn.neural_network import MLPClassifier

            # strong L2 (alpha=1) keeps this small net from overfitting 800 rows; it is
            # trained to convergence (adam needs ~400-1,000 epochs here, not 300)
            model = MLPClassifier(hidden_layer_sizes=(16,), alpha=1.0, max_iter=3000,
                                  random_state=seed)
        return Pipeline([("prep", one_hot(numeric, categorical, scale=True, impute=True)),
                         ("model", model)])
    if name == "xgboost":
        from xgboost import XGBClassifier

        model = XGBClassifier(n_estimators=200, max_depth=3, learning_rate=0.05,
                              subsample=0.8, colsample_bytree=0.8, n_jobs=1,
                              random_state=seed, verbosity=0)
    elif name == "lightgbm":
        from lightgbm import LGBMClassifier

        model = LGBMClassifier(n_estimators=200, learning_rate=0.05, num_leaves=15,
                               min_child_samples=20, subsample=0.8, subsample_freq=1,
                               colsample_bytree=0.8, n_jobs=1, random_state=seed, verbose=-1)
    else:
        raise ParameterError(f"Unknown credit model {name!r}; choose from {', '.join(MODELS)}.")
    return Pipeline([("prep", one_hot(numeric, categorical, scale=False, impute=False)),
                     ("model", model)])


# --------------------------------------------------------------------------- stages
def _read(cfg: CreditConfig, settings: Settings) -> Any:
    from riskscope.io.credit import read_credit

    if cfg.data == _BUNDLED_GERMAN and not Path(cfg.data).exists():
        from riskscope.datasets import load_german_credit

        return read_credit(load_german_credit(), target=cfg.target or "class", bad=cfg.bad), None
    p = Path(cfg.data)
    if p.exists() or p.suffix or "/" in cfg.data:
        return read_credit(p, target=cfg.target, bad=cfg.bad), p
    from riskscope.io import registry

    info = registry.get_dataset(cfg.data, shared_root=settings.shared_data)
    if info.path is None or not Path(info.path).is_file():
        raise ParameterError(f"Dataset {cfg.data!r} is not a single table file; give its "
                             "path with --data (and --target / --bad).")
    target = cfg.target or info.label_column
    return read_credit(info.path, target=target, bad=cfg.bad), Path(info.path)


def _ingest(s: dict[str, Any]) -> None:
    cfg: CreditConfig = s["config"]
    data, path = _read(cfg, s["settings"])
    if path is not None:
        s["run"].add_input(path)
    summary = data.summary()
    s["run"].write_json("ingest.json", summary)
    s["run"].log_metrics(rows=summary["n_rows"], features=summary["n_features"],
                         bad_rate=summary["bad_rate"])
    s["data"] = data


def _describe(s: dict[str, Any]) -> None:
    """Whole-table binning and selection, for the report only (see the module docstring)."""
    cfg: CreditConfig = s["config"]
    d = s["data"]
    binner = WoeBinner().fit(d.X, d.y)
    shared = {"binner": binner, "prefit": True}
    corr = WoeCorrelationFilter(threshold=cfg.corr_threshold, **shared).fit(d.X, d.y)
    ivf = IVFilter(threshold=cfg.iv_threshold, **shared).fit(d.X, d.y)
    table = pd.DataFrame({"feature": binner.iv_.index, "iv": binner.iv_.to_numpy(),
                          "bins": [binner.tables_[c].n_bins for c in binner.iv_.index]})
    table["rank"] = np.arange(1, len(table) + 1)
    table["kept_by_iv"] = table["iv"] >= cfg.iv_threshold
    dropped_corr = [c for c in d.X.columns if c not in set(corr.get_feature_names_out())]
    table["dropped_by_correlation"] = table["feature"].isin(dropped_corr)
    kept = [c for c in ivf.get_feature_names_out() if c not in dropped_corr]
    stepwise = None
    if len(kept) >= 1 and int(np.bincount(d.y, minlength=2).min()) >= cfg.inner_folds:
        sel = XGBStepwiseSelector(cv=cfg.inner_folds, random_state=s["run"].seed,
                                  **shared).fit(d.X[kept], d.y)
        stepwise = {"scores": sel.scores_, "n_features": sel.n_features_,
                    "selected": sel.selected_}
    s["describe"] = {"iv": table, "binner": binner, "stepwise": stepwise,
                     "dropped_corr": dropped_corr}
    s["run"].write_table("iv_descriptive", table)
    s["run"].write_json("binning_descriptive.json", binner.to_dict())


def _evaluate(s: dict[str, Any]) -> None:
    from riskscope.evaluation.credit import repeated_cv_evaluate

    cfg: CreditConfig = s["config"]
    d, seed = s["data"], s["run"].seed
    results = {}
    for name in cfg.models:
        est = make_model(name, cfg, d.numeric, d.categorical, seed)
        # what each outer fold's own fit chose; attrgetter pickles to parallel workers
        record = (operator.attrgetter("choices_") if name == "iv_xgb_rf"
                  else tuning_record if name in TUNED_MODELS else None)
        with warnings.catch_warnings():
            # MLP convergence and small inner folds warn per fit; the scores say enough.
            warnings.filterwarnings("ignore", category=UserWarning)
            warnings.filterwarnings("ignore", category=ConvergenceWarning)
            results[name] = repeated_cv_evaluate(est, d.X, d.y, n_splits=cfg.folds,
                                                 n_repeats=cfg.repeats, random_state=seed,
                                                 n_jobs=cfg.n_jobs, record=record)
    if "iv_xgb_rf" in results:
        r = results["iv_xgb_rf"]
        s["choices"] = choices_table(r.folds, r.records)
        s["run"].write_table("cv_choices", s["choices"])
    tuned = {m: r for m, r in results.items() if m in TUNED_MODELS}
    if tuned:
        s["tuning"] = tuning_table(tuned)
        s["run"].write_table("cv_tuning", s["tuning"])
    folds = pd.concat([r.folds.assign(model=m) for m, r in results.items()], ignore_index=True)
    summary = pd.concat([r.summary.rename_axis("metric").reset_index().assign(model=m)
                         for m, r in results.items()], ignore_index=True)
    s["cv"] = results
    s["run"].write_table("cv_folds", folds[["model", *results[cfg.models[0]].folds.columns]])
    s["run"].write_table("cv_summary", summary[["model", "metric", "mean", "std", "low", "high"]])
    s["run"].log_metrics({f"{m}_{k}": float(r.summary.loc[k, "mean"]) for m, r in results.items()
                          for k in ("roc_auc", "accuracy")})


def _compare(s: dict[str, Any]) -> None:
    cv = s["cv"]
    tests = []
    if "iv_xgb_rf" in cv and "rf" in cv:
        for metric in ("accuracy", "roc_auc"):
            t = cv["iv_xgb_rf"].compare(cv["rf"], metric)
            tests.append({"a": "iv_xgb_rf", "b": "rf", "metric": metric,
                          "mean_difference": t.mean_difference, "low": t.low, "high": t.high,
                          "t": t.t, "p_value": t.p_value, "df": t.df})
    s["ttests"] = pd.DataFrame(tests)
    s["run"].write_json("ttest.json", tests)
    for row in tests:
        s["run"].log_metrics({f"ttest_{row['metric']}_p": row["p_value"]})


def choices_table(folds: pd.DataFrame, records: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per outer fold: what IV-XGBoost-RF chose there, and its test accuracy.

    Examples
    --------
    >>> folds = pd.DataFrame({"repeat": [0, 0], "fold": [0, 1], "accuracy": [0.7, 0.8]})
    >>> rec = [{"n_features": 2, "features": ["a", "b"]}, {"n_features": 1, "features": ["a"]}]
    >>> t = choices_table(folds, rec)
    >>> t["n_features"].tolist(), t["test_accuracy"].tolist()
    ([2, 1], [0.7, 0.8])
    """
    table = pd.DataFrame(records)
    table.insert(0, "fold", folds["fold"].to_numpy())
    table.insert(0, "repeat", folds["repeat"].to_numpy())
    table["test_accuracy"] = folds["accuracy"].to_numpy()
    return table


def tuning_table(results: dict[str, Any]) -> pd.DataFrame:
    """Long table of what each tuned model chose in each outer fold.

    Columns ``model, repeat, fold, parameter, value``; ``results`` maps a model name to
    its :class:`~riskscope.evaluation.credit.CVResult` with ``records``.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> folds = pd.DataFrame({"repeat": [0, 0], "fold": [0, 1]})
    >>> r = SimpleNamespace(folds=folds, records=[{"C": 0.1}, {"C": 1.0}])
    >>> tuning_table({"lr_tuned": r})["value"].tolist()
    [0.1, 1.0]
    """
    rows = [{"model": m, "repeat": int(rep), "fold": int(fold), "parameter": k,
             "value": float(v)}
            for m, r in results.items()
            for (rep, fold), rec in zip(r.folds[["repeat", "fold"]].to_numpy(), r.records,
                                        strict=True)
            for k, v in rec.items()]
    return pd.DataFrame(rows, columns=["model", "repeat", "fold", "parameter", "value"])


def _cutoff_predictions(s: dict[str, Any], card: Scorecard) -> tuple[np.ndarray, np.ndarray,
                                                                     str]:
    """Out-of-fold P(bad) of the training rows for choosing the cut-off, and their source.

    The evaluated lr_woe is this same estimator cross-validated on these same rows, so its
    out-of-fold predictions (every repeat, stacked) serve; without it, a fresh
    ``inner_folds``-fold CV. Either way no row is predicted by a model that saw it.
    """
    from sklearn.model_selection import cross_val_predict

    cfg, d = s["config"], s["data"]
    if "lr_woe" in s["cv"]:
        r = s["cv"]["lr_woe"]
        return (np.tile(r.y, r.n_repeats), r.oof_proba.ravel(),
                f"lr_woe's outer CV, {r.n_splits} folds x {r.n_repeats}")
    folds = StratifiedKFold(cfg.inner_folds, shuffle=True, random_state=s["run"].seed)
    p = cross_val_predict(card, d.X, d.y, cv=folds, method="predict_proba",
                          n_jobs=cfg.n_jobs)[:, 1]
    return d.y, p, f"{cfg.inner_folds}-fold CV of the scorecard"


def _final(s: dict[str, Any]) -> None:
    """Refit the WOE scorecard on every row; save it with its cut-off as model/model.json."""
    from riskscope.evaluation.cutoff import choose_cutoff
    from riskscope.pipelines.credit_score import CreditModel

    cfg, d, run = s["config"], s["data"], s["run"]
    card = make_model("lr_woe", cfg, d.numeric, d.categorical, run.seed).set_params(
        pdo=cfg.pdo, base_score=cfg.base_score, base_odds=cfg.base_odds)
    y, p, source = _cutoff_predictions(s, card)
    cutoff = choose_cutoff(y, p, bad_cost=cfg.bad_cost)
    # The same out-of-fold predictions, per row and repeat: decisions no model made on rows
    # it saw, for the fairness audit (`riskscope fairness`) and anyone checking the cut-off.
    n = len(d.y)
    run.write_table("oof_predictions", pd.DataFrame({
        "repeat": np.repeat(np.arange(len(p) // n), n), "row": np.tile(np.arange(1, n + 1),
                                                                       len(p) // n),
        "y": y, "p_bad": p}))
    card.fit(d.X, d.y)
    meta = {"run_id": run.run_id, "data": str(cfg.data), "target": d.target, "bad": d.bad,
            "rows": int(len(d.y)), "bad_rate": float(d.y.mean()), "cutoff_source": source}
    model = CreditModel.build(card, cutoff, d.X, categorical=d.categorical, meta=meta)
    s["final"] = model
    run.write_json("model/model.json", model.to_dict())
    # Reason-code references (Regulation B: all applicants; those just above the cut-off),
    # so one later applicant is explained against this population without the data.
    from riskscope.explain.reasons import ReasonCoder

    coders = {}
    for method in ("reg_b_cutoff", "reg_b_mean"):
        try:
            coders[method] = ReasonCoder(model=model, method=method).fit(d.X).to_dict()
        except SchemaError as exc:  # e.g. nobody approved: no band above the cut-off
            run.extra.setdefault("notes", []).append(f"no {method} reason codes: {exc}")
    run.write_json("model/reasons.json", coders)
    run.write_table("scorecard_points", card.points_table_)
    run.log_metrics(cutoff=cutoff.threshold, cutoff_score=model.score_cutoff,
                    cutoff_expected_cost=cutoff.expected_cost, bad_cost=cfg.bad_cost)


def _report(s: dict[str, Any]) -> None:
    from riskscope.report.credit import build_credit_report

    s["run"].write_report(build_credit_report(s))


STAGES = (
    Stage("ingest", _ingest),
    Stage("describe (whole data)", _describe),
    Stage("evaluate", _evaluate),
    Stage("compare", _compare),
    Stage("final scorecard", _final),
    Stage("report", _report),
)


def run_credit(
    config: CreditConfig,
    settings: Settings,
    *,
    progress: StageProgress | None = None,
    parent: str | None = None,
) -> Path:
    """Run the credit pipeline and return the finished run folder.

    Examples
    --------
    >>> import tempfile
    >>> from riskscope.config import Settings
    >>> cfg = CreditConfig(models=("lr_woe",), folds=2, repeats=1)
    >>> out = run_credit(cfg, Settings(runs_dir=tempfile.mkdtemp()))  # doctest: +SKIP
    """
    seed_everything(settings.seed)
    with start_run("credit", runs_dir=settings.runs_dir, seed=settings.seed,
                   parameters=config.model_dump(mode="json"), parent=parent) as run:
        state: dict[str, Any] = {"config": config, "settings": settings, "run": run}
        run_stages("credit", STAGES, state, progress)
    return run.path
