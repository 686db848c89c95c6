"""The saved credit model and scoring new applicants: load -> read -> score -> write.

``credit run`` ends by refitting the WOE scorecard (``lr_woe``) on every row and saving
it as one JSON file, ``model/model.json`` in the run folder: the scorecard (bins, WOE,
coefficients, PDO scaling), the approve/decline cut-off, the columns and how they were
typed, and the training distribution of the score per band that ``credit monitor``
compares new applicants with (the per-feature one is the binner's own bin counts).
Nothing is pickled. ``credit score`` reads new applicants with the training reading
rules and writes, per applicant, P(bad), the decision, the score and the points per
feature; the scoring is recorded as a ``credit-score`` run.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
from scipy.special import expit, logit

from riskscope.config import Settings
from riskscope.evaluation.cutoff import Cutoff
from riskscope.exceptions import InputError, ParameterError, SchemaError
from riskscope.report.atomic import frame_format, write_frame
from riskscope.report.run import start_run
from riskscope.scorecard import BandReference, Scorecard

__all__ = ["MODEL_KIND", "CreditModel", "ScoreResult", "load_credit_model", "score_applicants"]

MODEL_KIND = "riskscope-credit-model"
MODEL_FORMAT = 1
#: Quantile bands of the training score that ``credit monitor`` compares.
SCORE_BANDS = 10


@dataclass
class CreditModel:
    """A fitted scorecard with its cut-off, column schema and training score bands.

    Parameters
    ----------
    scorecard : Scorecard
        Fitted; its ``threshold`` is the cut-off.
    cutoff : Cutoff
        Decline when ``P(bad) >= cutoff.threshold``; chosen on out-of-fold predictions
        of the training rows.
    score_reference : BandReference
        Training rows per score band, for PSI.
    columns, categorical : list of str
        The feature columns in model order, and the categorical ones.
    meta : dict
        Where it came from: ``run_id``, ``data``, ``target``, ``bad``, ``rows``,
        ``bad_rate``, ``cutoff_source``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from riskscope.evaluation.cutoff import choose_cutoff
    >>> from riskscope.pipelines.credit_score import CreditModel
    >>> from riskscope.scorecard import Scorecard
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"x": rng.normal(size=400), "c": rng.choice(list("ab"), 400)})
    >>> y = (X["x"] + rng.normal(size=400) > 1).astype(int).to_numpy()
    >>> card = Scorecard().fit(X, y)
    >>> model = CreditModel.build(card, choose_cutoff(y, card.predict_proba(X)[:, 1]), X,
    ...                           categorical=["c"], meta={})
    >>> back = CreditModel.from_dict(model.to_dict())
    >>> out = back.score_frame(X.head(2))
    >>> list(out.columns)
    ['p_bad', 'decision', 'score', 'points_x', 'points_c']
    >>> bool(np.allclose(out["score"], card.credit_score(X.head(2))))
    True
    """

    scorecard: Scorecard
    cutoff: Cutoff
    score_reference: BandReference
    columns: list[str]
    categorical: list[str]
    meta: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def build(cls, card: Scorecard, cutoff: Cutoff, X: pd.DataFrame, *,
              categorical: list[str], meta: dict[str, Any]) -> CreditModel:
        """Put a scorecard fitted on ``X`` together with its cut-off and score bands."""
        card.set_params(threshold=cutoff.threshold)
        ref = BandReference.fit(card.credit_score(X), bins=SCORE_BANDS, name="score")
        cols = [str(c) for c in card.feature_names_in_]
        return cls(card, cutoff, ref, cols, [c for c in cols if c in set(categorical)],
                   dict(meta))

    @property
    def score_cutoff(self) -> float:
        """The cut-off as a score: declined at or below it (higher scores are safer)."""
        card = self.scorecard
        return float(card.offset_ - card.factor_ * logit(self.cutoff.threshold))

    def score_frame(self, X: pd.DataFrame) -> pd.DataFrame:
        """Per row: ``p_bad``, ``decision`` (approve/decline), ``score``, ``points_<col>``."""
        card = self.scorecard
        p_bad = expit(card.decision_function(X))
        points = card.points(X)
        out = pd.DataFrame({"p_bad": p_bad,
                            "decision": np.where(p_bad >= self.cutoff.threshold, "decline",
                                                 "approve"),
                            "score": card.credit_score(X)}, index=points.index)
        return pd.concat([out, points.add_prefix("points_")], axis=1).reset_index(drop=True)

    def to_dict(self) -> dict[str, Any]:
        """The model as JSON-able data (what ``model/model.json`` holds)."""
        from riskscope import __version__

        return {"kind": MODEL_KIND, "format": MODEL_FORMAT, "riskscope": __version__,
                "columns": list(self.columns), "categorical": list(self.categorical),
                "scorecard": self.scorecard.to_dict(), "cutoff": self.cutoff.to_dict(),
                "cutoff_score": self.score_cutoff,
                "monitoring": {"score_bands": self.score_reference.to_dict()},
                "meta": self.meta}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CreditModel:
        """Rebuild from :meth:`to_dict` output; anything else raises SchemaError."""
        if not isinstance(data, dict) or data.get("kind") != MODEL_KIND:
            kind = data.get("kind") if isinstance(data, dict) else type(data).__name__
            raise SchemaError(f"Not a riskscope credit model (kind {kind!r}); pass the model of "
                              "a `riskscope credit run`.")
        if data.get("format") != MODEL_FORMAT:
            raise SchemaError(f"Credit model format {data.get('format')!r} is not supported "
                              f"(this riskscope reads {MODEL_FORMAT}); re-run `credit run`.")
        try:
            card = Scorecard.from_dict(data["scorecard"])
            model = cls(card, Cutoff.from_dict(data["cutoff"]),
                        BandReference.from_dict(data["monitoring"]["score_bands"]),
                        [str(c) for c in data["columns"]],
                        [str(c) for c in data["categorical"]], dict(data.get("meta") or {}))
        except SchemaError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise SchemaError(f"Credit model JSON is incomplete or malformed ({exc!r}); "
                              "re-run `riskscope credit run` to save it again.") from None
        if model.columns != [str(c) for c in card.feature_names_in_]:
            raise SchemaError("Credit model JSON lists columns that differ from its "
                              "scorecard's; re-run `riskscope credit run` to save it again.")
        card.set_params(threshold=model.cutoff.threshold)
        return model

    def read(self, data: str | os.PathLike[str] | pd.DataFrame, name: str | None = None,
             ) -> tuple[pd.DataFrame, list[str], str]:
        """New applicants read with the training reading rules: ``X``, extra columns, source
        (``name`` labels an in-memory table)."""
        from riskscope.io.credit_applicants import read_applicants

        a = read_applicants(data, columns=self.columns, categorical=self.categorical,
                            name=name)
        return a.X, a.extra, a.source


def _model_file(ref: str | os.PathLike[str], settings: Settings) -> tuple[Path, str]:
    p = Path(ref)
    if p.is_file():
        return p, p.parent.parent.name if p.parent.name == "model" else p.stem
    if p.is_dir():
        for cand in (p / "model" / "model.json", p / "model.json"):
            if cand.is_file():
                return cand, p.name if cand.parent != p else p.parent.name
        raise InputError(f"Folder '{p}' holds no credit model (no model/model.json); pass the "
                         "folder of a `credit run` or its run id.")
    from riskscope.report.catalog import Catalog

    info = Catalog(settings.runs_dir).get(str(ref))
    if info["pipeline"] != "credit":
        raise ParameterError(f"Run '{info['run_id']}' is a {info['pipeline']} run, not a credit "
                             "run; pass a credit run id (see `riskscope runs list`).")
    path = Path(info["path"]) / "model" / "model.json"
    if not path.is_file():
        raise InputError(f"Run '{info['run_id']}' has no saved model at '{path}' (status "
                         f"{info['status']}); use a completed credit run.")
    return path, info["run_id"]


def load_credit_model(ref: str | os.PathLike[str],
                      settings: Settings | None = None) -> tuple[CreditModel, Path, str]:
    """Load a saved credit model from a run id, a run folder, its model folder or file.

    Returns the model, the JSON file it came from and the run id (or folder name).
    """
    path, model_id = _model_file(ref, settings or Settings())
    try:
        data = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise InputError(f"Model file '{path}' is unreadable or not valid JSON ({exc}); re-run "
                         "`riskscope credit run` to save the model again.") from None
    return CreditModel.from_dict(data), path, model_id


@dataclass
class ScoreResult:
    """What ``credit score`` did: counts, the cut-off, notes, where things went."""

    rows: int
    declined: int
    threshold: float
    score_cutoff: float
    model_id: str
    run_path: Path
    out: Path | None
    notes: list[str] = field(default_factory=list)


def ignored_columns_note(extra: list[str]) -> list[str]:
    if not extra:
        return []
    shown = ", ".join(extra[:5]) + (" ..." if len(extra) > 5 else "")
    return [f"{len(extra)} column(s) the model does not use were ignored: {shown}"]


def score_applicants(model: str | os.PathLike[str], data: str | os.PathLike[str] | pd.DataFrame,
                     out: str | os.PathLike[str] | None = None, *,
                     settings: Settings | None = None, parent: str | None = None,
                     name: str | None = None) -> ScoreResult:
    """Score applicants in ``data`` with a saved credit model and write one row each.

    Parameters
    ----------
    model : str or path-like
        A credit run id, its folder, its ``model/`` folder or ``model.json``.
    data : path-like or pandas.DataFrame
        The applicants; read with :func:`riskscope.io.credit_applicants.read_applicants`.
    out : path-like, optional
        ``.csv``, ``.csv.gz`` or ``.parquet`` file (written atomically); None: the
        ``scores`` table of the ``credit-score`` run.
    settings : Settings, optional
    parent : str, optional
        Run id of a parent run (the demo).
    name : str, optional
        What to call in-memory ``data`` in the run record and report (a file is named by
        its path).

    Returns
    -------
    ScoreResult
    """
    settings = settings or Settings()
    if out is not None:
        frame_format(out)  # a wrong ending fails before anything is read or recorded
    m, path, model_id = load_credit_model(model, settings)
    X, extra, source = m.read(data, name)
    scores = m.score_frame(X)
    scores.insert(0, "row", np.arange(1, len(scores) + 1))
    notes = ignored_columns_note(extra)
    params = {"model": model_id, "data": source, "out": None if out is None else str(out)}
    with start_run("credit-score", runs_dir=settings.runs_dir, seed=settings.seed,
                   parameters=params, parent=parent) as run:
        if not isinstance(data, pd.DataFrame):
            run.add_input(data)
        run.add_input(path, role="model")
        if out is None:
            run.write_table("scores", scores)
        else:
            write_frame(scores, out)
            run.extra["predictions"] = str(Path(out).resolve())
        declined = int((scores["decision"] == "decline").sum())
        run.log_metrics(rows=len(scores), declined=declined,
                        decline_rate=declined / max(len(scores), 1),
                        mean_p_bad=float(scores["p_bad"].mean()),
                        mean_score=float(scores["score"].mean()),
                        cutoff=m.cutoff.threshold, score_cutoff=m.score_cutoff)
        run.extra["notes"] = notes
        from riskscope.report.credit_score import build_score_report

        run.write_report(build_score_report(m, scores, model_id=model_id, source=source,
                                            notes=notes))
    return ScoreResult(rows=len(scores), declined=declined, threshold=m.cutoff.threshold,
                       score_cutoff=m.score_cutoff, model_id=model_id, run_path=run.path,
                       out=None if out is None else Path(out), notes=notes)
