"""Base classes shared by every detector: input checks, label encoding, persistence hooks.

Subclasses implement ``_fit`` / ``_predict_proba`` (and ``_save_artifacts`` /
``_load_artifacts``) only; everything a user can get wrong is checked here, once.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import scipy.sparse as sp
import sklearn.exceptions
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import DataConversionWarning

from riskscope.exceptions import NotFittedError, ParameterError, SchemaError

__all__ = ["AnomalyDetector", "Detector", "class_weights", "check_params"]

#: Class-weight strategies every supervised detector accepts.
CLASS_WEIGHT_STRATEGIES = ("balanced", "sqrt_balanced")


# ---------------------------------------------------------------------------- parameters
def check_params(est: BaseEstimator, rules: Mapping[str, tuple]) -> None:
    """Check constructor arguments against declarative rules; raise one ParameterError.

    Each rule is ``("int"|"float", low, high)`` (``None`` = unbounded; ``low`` inclusive,
    ``high`` inclusive), ``("choice", values)``, ``("bool",)`` or ``("int_tuple",)``
    (non-empty tuple of positive ints).
    """
    name = type(est).__name__
    for param, rule in rules.items():
        value = getattr(est, param)
        kind = rule[0]
        if kind in ("int", "float"):
            low, high = rule[1], rule[2]
            is_num = isinstance(value, numbers.Integral if kind == "int" else numbers.Real)
            ok = is_num and not isinstance(value, bool)
            ok = ok and (low is None or value >= low) and (high is None or value <= high)
            if not ok:
                what = "an int" if kind == "int" else "a number"
                bounds = " and ".join(
                    s
                    for s in (
                        f">= {low}" if low is not None else "",
                        f"<= {high}" if high is not None else "",
                    )
                    if s
                )
                raise ParameterError(
                    f"`{param}` of {name} must be {what}{' ' + bounds if bounds else ''}; "
                    f"got {value!r}."
                )
        elif kind == "choice":
            choices = rule[1]
            if not any(value is c or (isinstance(c, str) and value == c) for c in choices):
                raise ParameterError(
                    f"`{param}` of {name} must be one of {', '.join(map(repr, choices))}; "
                    f"got {value!r}."
                )
        elif kind == "bool":
            if not isinstance(value, bool | np.bool_):
                raise ParameterError(f"`{param}` of {name} must be True or False; got {value!r}.")
        elif kind == "int_tuple":
            ok = isinstance(value, tuple | list) and len(value) > 0
            ok = ok and all(
                isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 1
                for v in value
            )
            if not ok:
                raise ParameterError(
                    f"`{param}` of {name} must be a non-empty tuple of positive ints; "
                    f"got {value!r}."
                )
        else:  # pragma: no cover - a programming error in a rule table
            raise AssertionError(f"unknown rule {rule!r}")


def check_class_weight(est: BaseEstimator) -> None:
    """``class_weight`` may be None, a strategy name, or a mapping label -> positive weight."""
    cw = est.class_weight
    if cw is None or (isinstance(cw, str) and cw in CLASS_WEIGHT_STRATEGIES):
        return
    if isinstance(cw, Mapping) and all(isinstance(w, numbers.Real) and w > 0 for w in cw.values()):
        return
    raise ParameterError(
        f"`class_weight` of {type(est).__name__} must be None, "
        f"{', '.join(map(repr, CLASS_WEIGHT_STRATEGIES))} or a dict label -> positive weight; "
        f"got {cw!r}."
    )


def class_weights(
    y_encoded: np.ndarray,
    n_classes: int,
    strategy: str | Mapping[Any, float] | None,
    classes: np.ndarray,
    *,
    clip: float | None = None,
) -> np.ndarray:
    """Per-class weights (length ``n_classes``) for the training labels.

    ``"balanced"`` is scikit-learn's ``n / (k * n_c)``; ``"sqrt_balanced"`` its square
    root, a milder push towards rare classes. Weights are rescaled so the training rows'
    mean weight is 1 (the loss keeps its scale) and then clipped to ``clip`` times the
    smallest weight when ``clip`` is given. A mapping gives weights by label (missing
    labels weigh 1).
    """
    counts = np.bincount(y_encoded, minlength=n_classes).astype(np.float64)
    if strategy is None:
        return np.ones(n_classes)
    if isinstance(strategy, Mapping):
        w = np.array([float(strategy.get(c, 1.0)) for c in classes.tolist()])
    else:
        present = counts > 0
        w = np.ones(n_classes)
        w[present] = counts.sum() / (present.sum() * counts[present])
        if strategy == "sqrt_balanced":
            w = np.sqrt(w)
    if clip is not None:
        w = np.minimum(w, w.min() * clip)
    mean = (w * counts).sum() / max(counts.sum(), 1.0)
    return w / mean


class _NotFittedError(NotFittedError, sklearn.exceptions.NotFittedError):
    """riskscope's NotFittedError that scikit-learn's tools also recognise."""


# ---------------------------------------------------------------------------- arrays
def _is_named_frame(X: Any) -> bool:
    return isinstance(X, pd.DataFrame) and all(isinstance(c, str) for c in X.columns)


def _as_float_matrix(X: Any, *, where: str, allow_nan: bool) -> np.ndarray:
    if sp.issparse(X):
        raise SchemaError(
            f"{where}: sparse input is not supported; pass a dense array (X.toarray())."
        )
    if isinstance(X, pd.DataFrame):
        bad = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c].dtype)]
        if bad:
            raise SchemaError(
                f"{where}: feature column {bad[0]!r} is not numeric (dtype {X[bad[0]].dtype}); "
                "encode or drop non-numeric columns before fitting a detector."
            )
        arr = X.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        raw = np.asarray(X)
        if raw.dtype.kind == "c":
            raise SchemaError(f"{where}: Complex data not supported; pass real numbers.")
        try:
            arr = raw.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise SchemaError(
                f"{where}: X could not be read as numbers ({exc}); pass a numeric array "
                "or DataFrame."
            ) from None
    if arr.ndim != 2:
        raise SchemaError(
            f"{where}: X must be 2-D (rows x features); got {arr.ndim}-D with shape "
            f"{arr.shape}. Reshape your data: a single row with X.reshape(1, -1)."
        )
    if arr.shape[0] == 0:
        raise SchemaError(
            f"{where}: Found array with 0 sample(s) (shape={arr.shape}) while a minimum of 1 "
            "is required."
        )
    if arr.shape[1] == 0:
        raise SchemaError(
            f"{where}: Found array with 0 feature(s) (shape={arr.shape}) while a minimum of 1 "
            "is required."
        )
    finite = np.isfinite(arr)
    if not finite.all():
        inf_rows = np.flatnonzero(np.isinf(arr).any(axis=1))
        if inf_rows.size:
            raise SchemaError(
                f"{where}: X has Infinity in {inf_rows.size} rows (rows "
                f"{', '.join(map(str, inf_rows[:3]))}{', ...' if inf_rows.size > 3 else ''}); "
                "treat it upstream (e.g. inf_policy='nan' or 'drop')."
            )
        if not allow_nan:
            nan_rows = np.flatnonzero(np.isnan(arr).any(axis=1))
            raise SchemaError(
                f"{where}: X has NaN in {nan_rows.size} rows (rows "
                f"{', '.join(map(str, nan_rows[:3]))}{', ...' if nan_rows.size > 3 else ''}); "
                "this detector needs complete rows: impute or drop them upstream."
            )
    return arr


class Detector(ClassifierMixin, BaseEstimator):
    """Base of the supervised detectors: validation, label encoding and persistence.

    Subclasses set ``kind``, ``_param_rules`` and implement ``_fit`` and
    ``_predict_proba`` (probabilities of the encoded classes ``0..k-1``), plus
    ``_save_artifacts`` / ``_load_artifacts`` for their own model file.
    """

    kind: ClassVar[str] = ""
    _param_rules: ClassVar[dict[str, tuple]] = {}
    _allow_nan: ClassVar[bool] = False
    _min_classes: ClassVar[int] = 2
    #: learned attributes (JSON-safe) that ``save`` records in model.json and ``load`` restores
    _json_state: ClassVar[tuple[str, ...]] = ()
    #: modules whose versions model.json records
    _libraries: ClassVar[tuple[str, ...]] = ("sklearn",)

    # ---- validation ------------------------------------------------------------------
    def _validate_params(self) -> None:
        check_params(self, self._param_rules)
        if "class_weight" in self.get_params():
            check_class_weight(self)

    def _check_X_fit(self, X: Any, where: str) -> np.ndarray:
        arr = _as_float_matrix(X, where=where, allow_nan=self._allow_nan)
        self.n_features_in_ = arr.shape[1]
        if _is_named_frame(X):
            self.feature_names_in_ = np.asarray(list(X.columns), dtype=object)
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        return arr

    def _check_X(self, X: Any, where: str) -> np.ndarray:
        self._check_is_fitted()
        names = getattr(self, "feature_names_in_", None)
        if names is not None and isinstance(X, pd.DataFrame):
            cols = [str(c) for c in X.columns]
            missing = [n for n in names if n not in set(cols)]
            extra = [c for c in cols if c not in set(names)]
            if missing or extra:
                what = (
                    f"missing {len(missing)} ({', '.join(map(repr, missing[:3]))}"
                    f"{', ...' if len(missing) > 3 else ''})"
                    if missing
                    else f"{len(extra)} unknown ({', '.join(map(repr, extra[:3]))}"
                    f"{', ...' if len(extra) > 3 else ''})"
                )
                raise SchemaError(
                    f"{where}: feature columns do not match the fitted ones, {what}; "
                    "select detector.feature_names_in_ from the frame."
                )
            X = X[list(names)]  # the fitted order; a reordered frame is fine
        arr = _as_float_matrix(X, where=where, allow_nan=self._allow_nan)
        if arr.shape[1] != self.n_features_in_:
            raise SchemaError(
                f"{where}: X has {arr.shape[1]} features, but {type(self).__name__} is "
                f"expecting {self.n_features_in_} features as input; pass the columns used in fit."
            )
        return arr

    def _check_is_fitted(self) -> None:
        if not hasattr(self, "classes_"):
            raise _NotFittedError(
                f"This {type(self).__name__} is not fitted yet; call fit(X, y) first."
            )

    def _encode_y(self, y: Any, n_rows: int, where: str) -> np.ndarray:
        if y is None:
            raise SchemaError(
                f"{where}: {type(self).__name__} requires y to be passed, but the target y is "
                "None; pass one label per row."
            )
        y_arr = np.asarray(y)
        if y_arr.ndim == 2 and y_arr.shape[1] == 1:
            warnings.warn(
                "A column-vector y was passed when a 1d array was expected; it was raveled.",
                DataConversionWarning,
                stacklevel=3,
            )
            y_arr = y_arr.ravel()
        if y_arr.ndim != 1 or y_arr.shape[0] != n_rows:
            raise SchemaError(
                f"{where}: y must be 1-D with one label per row of X ({n_rows}); got shape "
                f"{y_arr.shape}."
            )
        if pd.isna(y_arr).any():
            raise SchemaError(f"{where}: y has {int(pd.isna(y_arr).sum())} missing labels.")
        if y_arr.dtype.kind == "f" and not np.array_equal(y_arr, np.round(y_arr)):
            raise SchemaError(
                f"{where}: Unknown label type: continuous (y has non-integer numbers); a "
                "detector needs class labels."
            )
        return y_arr

    def _check_sample_weight(self, sample_weight: Any, n_rows: int) -> np.ndarray | None:
        if sample_weight is None:
            return None
        w = np.asarray(sample_weight, dtype=np.float64)
        if w.shape != (n_rows,) or not np.isfinite(w).all() or (w < 0).any():
            raise SchemaError(
                f"fit: sample_weight must be {n_rows} finite non-negative numbers; got shape "
                f"{w.shape}."
            )
        if w.sum() <= 0:
            raise SchemaError("fit: every sample_weight is zero; give some rows weight > 0.")
        return w

    # ---- public API --------------------------------------------------------------------
    def fit(
        self,
        X: Any,
        y: Any,
        *,
        X_val: Any = None,
        y_val: Any = None,
        sample_weight: Any = None,
    ) -> Detector:
        """Fit on ``(X, y)``; ``(X_val, y_val)``, when given, drives early stopping.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Numeric features (already scaled by the pipeline). A DataFrame's string column
            names are recorded in ``feature_names_in_``.
        y : array-like of shape (n_samples,)
            Class labels (strings or ints).
        X_val, y_val : optional
            Validation rows for early stopping; their labels must be among ``y``'s.
        sample_weight : array-like of shape (n_samples,), optional
            Row weights, multiplied with the class weights when ``class_weight`` is set.

        Returns
        -------
        self
        """
        self._validate_params()
        Xa = self._check_X_fit(X, "fit")
        y_arr = self._encode_y(y, Xa.shape[0], "fit")
        if y_arr.dtype.kind in "OUS":  # strings: one dtype (object) however they came in
            y_arr = y_arr.astype(str).astype(object)
        self.classes_, y_enc = np.unique(y_arr, return_inverse=True)
        if self.classes_.size < self._min_classes:
            raise SchemaError(
                f"fit: y has {self.classes_.size} class ({self.classes_.tolist()}); a "
                f"{type(self).__name__} needs at least {self._min_classes}."
            )
        w = self._check_sample_weight(sample_weight, Xa.shape[0])
        Xv = yv = None
        if (X_val is None) != (y_val is None):
            raise SchemaError("fit: pass X_val and y_val together, or neither.")
        if X_val is not None:
            Xv = self._check_X(X_val, "fit (X_val)")
            yv_raw = self._encode_y(y_val, Xv.shape[0], "fit (y_val)")
            unknown = np.setdiff1d(np.unique(yv_raw), self.classes_)
            if unknown.size:
                raise SchemaError(
                    f"fit: y_val has labels absent from y ({unknown[:3].tolist()}); validation "
                    "labels must be a subset of the training labels."
                )
            yv = np.searchsorted(self.classes_, yv_raw)
        self._fit(Xa, y_enc.astype(np.int64), Xv, yv, w)
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape ``(n_samples, n_classes)``, columns in ``classes_`` order."""
        Xa = self._check_X(X, "predict_proba")
        p = np.asarray(self._predict_proba(Xa), dtype=np.float64)
        return p / p.sum(axis=1, keepdims=True)  # float32 libraries sum to 1 +- 1e-7

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each row (a label from ``classes_``)."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def save(self, directory: str | Path) -> Path:
        """Write ``model.json`` and the library's own model file(s) into ``directory``.

        See :func:`riskscope.models.persistence.save_detector`.
        """
        from riskscope.models.persistence import save_detector

        return save_detector(self, directory)

    # ---- persistence of parameters ---------------------------------------------------
    def _params_to_json(self) -> dict[str, Any]:
        from riskscope.models.persistence import jsonable

        params = self.get_params(deep=False)
        cw = params.get("class_weight")
        if isinstance(cw, Mapping):  # keys may be ints; JSON objects only have str keys
            params["class_weight"] = {"pairs": [[jsonable(k), float(v)] for k, v in cw.items()]}
        return jsonable(params)

    @classmethod
    def _params_from_json(cls, params: dict[str, Any]) -> dict[str, Any]:
        out = dict(params)
        cw = out.get("class_weight")
        if isinstance(cw, dict):
            out["class_weight"] = {k: v for k, v in cw["pairs"]}
        for name, value in out.items():
            if isinstance(value, list):
                out[name] = tuple(value)
        return out

    # ---- hooks ----------------------------------------------------------------------
    def _fit(self, X, y, X_val, y_val, sample_weight) -> None:  # pragma: no cover
        raise NotImplementedError

    def _predict_proba(self, X: np.ndarray) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def _save_artifacts(self, directory: Path) -> list[str]:  # pragma: no cover
        """Write the model file(s); return their names (relative to ``directory``)."""
        raise NotImplementedError

    def _load_artifacts(self, directory: Path, files: list[str]) -> None:  # pragma: no cover
        raise NotImplementedError

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = self._allow_nan
        return tags


class AnomalyDetector(Detector):
    """Base of the benign-only detectors: trained on benign rows, scores how unusual a row is.

    ``fit(X, y=None)`` trains on the benign rows only: with ``y=None`` every row of ``X``
    is taken as benign; with labels, the rows whose label is ``benign_label`` (strings)
    or ``0`` (binary ints/bools, as :func:`riskscope.features.labels.binary_labels`
    gives) are used and the others ignored. Validation rows are filtered the same way.

    ``score_samples`` / ``decision_function`` are higher for more anomalous rows.
    ``decision_function = score_samples - offset_`` where ``offset_`` is the
    ``1 - contamination`` quantile of the benign validation scores (training scores when
    no validation rows are given), so ``predict`` flags about ``contamination`` of benign
    traffic. ``predict_proba`` is ``[benign, attack]`` with
    ``attack = sigmoid(decision_function / scale_)``: a monotone map of the score that is
    0.5 at the offset and 0.01 at the benign median. Operating thresholds belong to the
    pipeline (chosen on validation); ranking metrics such as ROC-AUC use
    ``score_samples``. ``classes_`` is ``[0, 1]`` (0 = benign, 1 = attack).
    """

    _min_classes: ClassVar[int] = 1

    def fit(
        self,
        X: Any,
        y: Any = None,
        *,
        X_val: Any = None,
        y_val: Any = None,
        sample_weight: Any = None,
    ) -> AnomalyDetector:
        """Fit on the benign rows of ``X`` (all rows when ``y`` is None).

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        y : array-like of shape (n_samples,), optional
            Labels; only rows equal to ``benign_label`` (or 0 for numeric labels) are used.
        X_val, y_val : optional
            Validation rows (``y_val`` optional: None means all benign) for early stopping
            and for the score offset.
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        self
        """
        self._validate_params()
        Xa = self._check_X_fit(X, "fit")
        w = self._check_sample_weight(sample_weight, Xa.shape[0])
        if y is not None:
            keep = self._benign_mask(self._encode_y(y, Xa.shape[0], "fit"), "fit")
            Xa = Xa[keep]
            w = None if w is None else w[keep]
        self.classes_ = np.array([0, 1])
        Xv = None
        if X_val is not None:
            Xv = self._check_X(X_val, "fit (X_val)")
            if y_val is not None:
                Xv = Xv[self._benign_mask(self._encode_y(y_val, Xv.shape[0], "fit"), "fit")]
        elif y_val is not None:
            raise SchemaError("fit: y_val was given without X_val.")
        self.n_train_rows_ = int(Xa.shape[0])
        self._fit(Xa, None, Xv, None, w)
        ref = self._score(Xv if Xv is not None and len(Xv) else Xa)
        self._calibrate(ref)
        return self

    def _benign_mask(self, y: np.ndarray, where: str) -> np.ndarray:
        if y.dtype.kind in "biuf":
            mask = y == 0
        else:
            mask = y.astype(str) == str(self.benign_label)
        if not mask.any():
            raise SchemaError(
                f"{where}: no benign rows among {y.size} labels (looked for "
                f"{self.benign_label!r}, or 0 for numeric labels); pass benign_label= or "
                "fit(X_benign) without y."
            )
        return mask

    def _calibrate(self, benign_scores: np.ndarray) -> None:
        q = float(np.quantile(benign_scores, 1.0 - self.contamination))
        med = float(np.median(benign_scores))
        self.offset_ = q
        self.scale_ = max(q - med, 1e-12) / np.log(99.0)

    def score_samples(self, X: Any) -> np.ndarray:
        """Anomaly score of each row: higher is more anomalous (unlike scikit-learn's sign)."""
        return self._score(self._check_X(X, "score_samples"))

    def decision_function(self, X: Any) -> np.ndarray:
        """``score_samples(X) - offset_``: positive for rows above the benign threshold."""
        return self.score_samples(X) - self.offset_

    def _predict_proba(self, X: np.ndarray) -> np.ndarray:
        z = np.clip((self._score(X) - self.offset_) / self.scale_, -500.0, 500.0)
        p = 1.0 / (1.0 + np.exp(-z))
        return np.column_stack([1.0 - p, p])

    def _score(self, X: np.ndarray) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = False
        return tags
