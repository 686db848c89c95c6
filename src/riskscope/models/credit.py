"""Credit classifiers beyond the paper's: one-hot preparation, inner-CV tuning, ensembles.

Each builder returns a plain, unfitted scikit-learn estimator (a Pipeline, a search or an
ensemble), so ``clone``, ``fit`` and ``predict_proba`` behave as scikit-learn's own and
everything it learns, tuning and stacking weights included, is learned from the rows
given to ``fit`` only: the searches and the stacking cross-validate inside those rows.
Evaluated by :func:`riskscope.evaluation.credit.repeated_cv_evaluate`, that makes the
tuning nested in every outer training fold. :func:`tuning_record` says what a fitted one
chose, for the run's per-fold table.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import StackingClassifier, VotingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

__all__ = ["LR_C_GRID", "XGB_SPACE", "one_hot", "soft_vote", "stacked", "tuned_logistic",
           "tuned_xgboost", "tuning_record"]

#: Inverse L2 strengths searched for ``lr_tuned`` (1e-3 ... 10, half-decade steps).
LR_C_GRID = tuple(float(c) for c in np.logspace(-3, 1, 9))
#: The XGBoost search space of ``xgboost_tuned``: the usual knobs around shallow,
#: regularised boosting on a small table; ``n_iter`` points are drawn from it.
XGB_SPACE: dict[str, list[Any]] = {
    "n_estimators": [100, 200, 400],
    "learning_rate": [0.01, 0.02, 0.05, 0.1],
    "max_depth": [2, 3, 4, 6],
    "min_child_weight": [1, 3, 5, 10],
    "subsample": [0.6, 0.8, 1.0],
    "colsample_bytree": [0.4, 0.6, 0.8, 1.0],
    "reg_lambda": [1.0, 5.0, 20.0],
}


def _as_text(X: pd.DataFrame) -> pd.DataFrame:
    """Categorical columns as plain strings with missing as its own level."""
    return X.astype(object).where(X.notna(), "__missing__").astype(str)


def one_hot(numeric: list[str], categorical: list[str], *, scale: bool, impute: bool) -> Any:
    """Column preparation: one-hot categoricals (missing = a level), numerics as asked.

    ``impute`` median-imputes the numerics and adds a missing indicator per column that
    had missing values in ``fit``; ``scale`` standardises them. Unseen categories encode
    as all zeros.

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"x": [1.0, None, 3.0], "c": ["a", "b", None]})
    >>> one_hot(["x"], ["c"], scale=False, impute=True).fit_transform(X).shape
    (3, 5)
    """
    num: list[Any] = []
    if impute:
        num.append(SimpleImputer(strategy="median", add_indicator=True))
    if scale:
        num.append(StandardScaler())
    cat = make_pipeline(FunctionTransformer(_as_text, feature_names_out="one-to-one"),
                        OneHotEncoder(handle_unknown="ignore", sparse_output=False))
    parts = [("cat", cat, categorical)]
    if numeric:
        parts.insert(0, ("num", make_pipeline(*num) if num else "passthrough", numeric))
    return ColumnTransformer(parts, remainder="drop")


def _inner(folds: int, seed: int) -> StratifiedKFold:
    return StratifiedKFold(folds, shuffle=True, random_state=seed)


def tuned_logistic(numeric: list[str], categorical: list[str], *, inner_folds: int = 5,
                   seed: int = 0, C: Sequence[float] = LR_C_GRID) -> Pipeline:
    """Logistic regression on one-hot categoricals, standardised numerics and missing
    indicators, its L2 strength ``C`` chosen by inner stratified CV on ROC-AUC.

    A Pipeline of :func:`one_hot` and :class:`~sklearn.linear_model.LogisticRegressionCV`:
    the encoder and scaler learn no labels, so they are fitted once on the rows given and
    only the regression is cross-validated over ``C`` (one warm-started path per inner
    fold, ten times cheaper than a grid search refitting the encoder); the best ``C`` is
    then refitted on all the rows given.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"x": rng.normal(size=200), "c": rng.choice(list("ab"), 200)})
    >>> y = (X["x"] + rng.normal(size=200) > 0.5).astype(int)
    >>> m = tuned_logistic(["x"], ["c"], inner_folds=3).fit(X, y)
    >>> float(m[-1].C_) in LR_C_GRID, m.predict_proba(X).shape
    (True, (200, 2))
    """
    model = LogisticRegressionCV(Cs=list(C), l1_ratios=(0.0,), cv=_inner(inner_folds, seed),
                                 scoring="roc_auc", max_iter=5000, n_jobs=1,
                                 use_legacy_attributes=False)
    return Pipeline([("prep", one_hot(numeric, categorical, scale=True, impute=True)),
                     ("model", model)])


def tuned_xgboost(numeric: list[str], categorical: list[str], *, inner_folds: int = 5,
                  seed: int = 0, n_iter: int = 20,
                  space: dict[str, list[Any]] | None = None) -> RandomizedSearchCV:
    """XGBoost on one-hot categoricals and raw numerics (it routes missing values itself),
    ``n_iter`` settings of ``space`` (default :data:`XGB_SPACE`) tried by inner stratified
    CV on ROC-AUC, the best refitted on all the rows given.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"x": rng.normal(size=200), "c": rng.choice(list("ab"), 200)})
    >>> y = (X["x"] + rng.normal(size=200) > 0.5).astype(int)
    >>> m = tuned_xgboost(["x"], ["c"], inner_folds=2, n_iter=2).fit(X, y)
    >>> sorted(m.best_params_)[:2], m.predict_proba(X).shape
    (['model__colsample_bytree', 'model__learning_rate'], (200, 2))
    """
    from xgboost import XGBClassifier

    model = XGBClassifier(n_jobs=1, random_state=seed, verbosity=0)
    pipe = Pipeline([("prep", one_hot(numeric, categorical, scale=False, impute=False)),
                     ("model", model)])
    grid = {f"model__{k}": list(v) for k, v in (space or XGB_SPACE).items()}
    return RandomizedSearchCV(pipe, grid, n_iter=n_iter, cv=_inner(inner_folds, seed),
                              scoring="roc_auc", random_state=seed, n_jobs=1)


def soft_vote(members: Sequence[tuple[str, Any]]) -> VotingClassifier:
    """The unweighted mean of the members' class probabilities (soft voting).

    Nothing is learned beyond the members themselves, each fitted on all the rows given.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> v = soft_vote([("lr", LogisticRegression()), ("tree", DecisionTreeClassifier())])
    >>> v.voting, [n for n, _ in v.estimators]
    ('soft', ['lr', 'tree'])
    """
    return VotingClassifier(list(members), voting="soft", n_jobs=1)


def stacked(members: Sequence[tuple[str, Any]], *, inner_folds: int = 5,
            seed: int = 0) -> StackingClassifier:
    """Stacking: a logistic regression on the members' P(bad), learned out of fold.

    Each member's P(bad) for every row given to ``fit`` comes from an ``inner_folds``-fold
    stratified CV inside those rows; the logistic regression (default L2, C = 1) learns
    one weight per member from them; then every member is refitted on all the rows.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> s = stacked([("lr", LogisticRegression()), ("tree", DecisionTreeClassifier())])
    >>> s.cv.n_splits, s.stack_method
    (5, 'predict_proba')
    """
    return StackingClassifier(list(members), final_estimator=LogisticRegression(),
                              cv=_inner(inner_folds, seed), stack_method="predict_proba",
                              n_jobs=1)


def tuning_record(est: Any) -> dict[str, Any]:
    """What a fitted tuned or stacked model chose, as JSON-able numbers.

    A search, or a pipeline ending in a ``LogisticRegressionCV``, gives its winner's
    parameters (prefix ``model__`` dropped) and its inner-CV score as ``inner_<scoring>``
    (``inner_roc_auc`` for the builders here); a stacking ensemble its per-member
    ``weight_<name>`` and ``intercept``; anything else an empty dict.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
    >>> from sklearn.model_selection import GridSearchCV
    >>> X, y = np.arange(40.0).reshape(-1, 1), np.arange(40) % 2
    >>> g = GridSearchCV(LogisticRegression(), {"C": [0.1, 1.0]}, cv=2,
    ...                  scoring="roc_auc").fit(X, y)
    >>> sorted(tuning_record(g))
    ['C', 'inner_roc_auc']
    """
    if isinstance(est, GridSearchCV | RandomizedSearchCV):
        out = {k.removeprefix("model__"): float(v) for k, v in est.best_params_.items()}
        scoring = est.scoring if isinstance(est.scoring, str) else "score"
        out[f"inner_{scoring}"] = float(est.best_score_)
        return out
    model = est[-1] if isinstance(est, Pipeline) else est
    if isinstance(model, LogisticRegressionCV):
        scores = model.scores_  # (folds, l1 ratios, Cs); a dict of them with legacy attributes
        scores = np.asarray(next(iter(scores.values())) if isinstance(scores, dict) else scores)
        return {"C": float(np.ravel(model.C_)[0]),
                f"inner_{model.scoring}": float(scores.mean(axis=0).max())}
    if isinstance(est, StackingClassifier):
        coef = est.final_estimator_.coef_[0]
        out = {f"weight_{name}": float(w)
               for (name, _), w in zip(est.estimators, coef, strict=True)}
        out["intercept"] = float(est.final_estimator_.intercept_[0])
        return out
    return {}
