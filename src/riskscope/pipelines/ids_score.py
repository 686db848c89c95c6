"""Score new flows with a saved ids model: load -> ingest -> preprocess -> predict -> write.

New flows go through the same ingest rules as training data, except that nothing is
dropped (every input row gets a prediction): infinities are bounded by the training
data's extremes (so a flow scores the same alone or in a batch), missing values are set
to zero, duplicates are kept, and a missing label column is fine. Columns the model does
not know, and labels it never saw, are reported, not fatal. The scoring itself is
recorded as an ``ids-score`` run.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd

from riskscope.config import Settings
from riskscope.exceptions import InputError, ParameterError
from riskscope.report.atomic import atomic_path, write_parquet
from riskscope.report.run import start_run

__all__ = ["IdsModel", "ScoreResult", "load_ids_model", "score_flows"]

MODEL_KIND = "riskscope-ids-model"


@dataclass
class IdsModel:
    """A saved ids model: preprocessor, label encoding, detector, optional benign-only one."""

    path: Path
    meta: dict[str, Any]
    preprocessor: Any
    classes: list[str]
    detector: Any
    benign_only: Any | None
    model_id: str

    def predict_frame(self, X: pd.DataFrame) -> pd.DataFrame:
        """Predicted label, per-class probabilities, attack score and alert per row."""
        Z = self.preprocessor.transform(X)
        proba = self.detector.predict_proba(Z)
        mcls = np.asarray(self.detector.classes_)
        names = np.asarray(self.classes, dtype=object)
        out = pd.DataFrame({"predicted": names[mcls[np.argmax(proba, axis=1)]]})
        for j, c in enumerate(mcls):
            out[f"p_{names[c]}"] = proba[:, j].astype(np.float32)
        if (mcls == 0).any():
            out["attack_score"] = (1.0 - proba[:, int(np.flatnonzero(mcls == 0)[0])]).astype(
                np.float32)
            thr = self.meta.get("alert_threshold")
            if thr is not None:
                out["alert"] = out["attack_score"].to_numpy() >= float(thr)
        if self.benign_only is not None:
            s = np.asarray(self.benign_only.score_samples(Z), dtype=np.float32)
            out["anomaly_score"] = s
            out["anomaly_alert"] = s > float(self.meta["benign_only"]["threshold"])
        return out


def _model_dir(ref: str | os.PathLike[str], settings: Settings) -> tuple[Path, str]:
    p = Path(ref)
    if p.is_dir():
        for cand in (p, p / "model"):
            if (cand / "model.json").is_file():
                return cand, (p.name if cand != p else p.parent.name)
        raise InputError(
            f"Folder '{p}' holds no ids model (no model.json in it or in model/); pass the "
            "folder of an `ids run` or its run id."
        )
    from riskscope.report.catalog import Catalog

    cat = Catalog(settings.runs_dir)
    info = cat.get(str(ref))
    if info["pipeline"] != "ids":
        raise ParameterError(f"Run '{info['run_id']}' is a {info['pipeline']} run, not an ids "
                             "run; pass an ids run id (see `riskscope runs list`).")
    path = Path(info["path"]) / "model"
    if not (path / "model.json").is_file():
        raise InputError(f"Run '{info['run_id']}' has no saved model at '{path}' (status "
                         f"{info['status']}); score with a completed ids run.")
    return path, info["run_id"]


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise InputError(f"Model file '{path}' is missing or not valid JSON ({exc}); re-run "
                         "`riskscope ids run` to save the model again.") from None


def load_ids_model(ref: str | os.PathLike[str], settings: Settings | None = None) -> IdsModel:
    """Load a saved ids model from a run id, a run folder or its ``model/`` folder.

    Nothing is unpickled: the preprocessor and labels are JSON, the detectors are in their
    libraries' own formats.
    """
    from riskscope.features.preprocess import FlowPreprocessor
    from riskscope.models import load_detector

    settings = settings or Settings()
    path, model_id = _model_dir(ref, settings)
    meta = _read_json(path / "model.json")
    if meta.get("kind") != MODEL_KIND:
        raise InputError(f"'{path / 'model.json'}' is not an ids model (kind "
                         f"{meta.get('kind')!r}); pass the folder of an `ids run`.")
    pre = FlowPreprocessor.from_dict(_read_json(path / "preprocessor.json"))
    labels = _read_json(path / "labels.json")
    det = load_detector(path / "detector")
    benign = load_detector(path / "benign_only") if meta.get("benign_only") else None
    return IdsModel(path=path, meta=meta, preprocessor=pre, classes=list(labels["classes"]),
                    detector=det, benign_only=benign, model_id=model_id)


@dataclass
class ScoreResult:
    rows: int
    alerts: int
    threshold: float | None
    model_id: str
    notes: list[str] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def threshold_text(self) -> str:
        return "n/a" if self.threshold is None else f"{self.threshold:.4g}"


def _write_predictions(df: pd.DataFrame, out: Path) -> None:
    suffix = "".join(out.suffixes[-2:]).lower()
    if suffix not in (".parquet", ".csv", ".csv.gz"):
        raise ParameterError(f"--out '{out}' must end in .parquet, .csv or .csv.gz; got "
                             f"'{out.suffix}'.")
    out.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".parquet":
        write_parquet(df, out)
        return
    with atomic_path(out) as tmp:
        df.to_csv(tmp, index=False, compression="gzip" if suffix == ".csv.gz" else None)


def score_flows(model: str | os.PathLike[str], data: str | os.PathLike[str],
                out: str | os.PathLike[str], *, settings: Settings | None = None) -> ScoreResult:
    """Score flows in ``data`` with ``model`` and write predictions to ``out``.

    Returns
    -------
    ScoreResult
        Row and alert counts, notes about unknown columns or labels, and metrics when the
        data carries labels.
    """
    from riskscope.io.flows import read_flows

    settings = settings or Settings()
    out = Path(out)
    m = load_ids_model(model, settings)
    # Infinity is kept here and bounded by the training extremes in the preprocessor,
    # so a flow's score does not depend on the other flows in the file
    flows = read_flows(data, inf_policy="keep", nan_policy="zero", dedup=False,
                       require_label=False)
    notes: list[str] = []
    known = set(m.preprocessor.feature_names_in_)
    extra = [c for c in flows.feature_columns if c not in known]
    if extra:
        notes.append(f"{len(extra)} column(s) unknown to the model were ignored: "
                     + ", ".join(extra[:5]) + (" ..." if len(extra) > 5 else ""))
    pred = m.predict_frame(flows.frame)
    meta_cols = [c for c in flows.meta_columns if c in flows.frame.columns]
    result = pd.concat([flows.frame[meta_cols].reset_index(drop=True), pred], axis=1)
    metrics: dict[str, Any] = {"rows": len(result)}
    label = flows.label_column
    if label in flows.frame.columns and flows.frame[label].notna().any():
        truth = flows.frame[label].astype(str).to_numpy()
        result.insert(len(meta_cols), "label", truth)
        unseen = sorted(set(truth) - set(m.classes))
        if unseen:
            notes.append(f"{len(unseen)} label(s) the model never saw: {', '.join(unseen[:5])}")
        metrics["accuracy"] = float(np.mean(result["predicted"].to_numpy() == truth))
    alerts = int(result["alert"].sum()) if "alert" in result else 0
    metrics["alerts"] = alerts
    with start_run("ids-score", runs_dir=settings.runs_dir, seed=settings.seed,
                   parameters={"model": m.model_id, "data": str(data), "out": str(out)}) as run:
        for f in flows.report.files:
            run.add_input(f["path"])
        run.add_input(m.path, role="model")
        _write_predictions(result, out)
        run.log_metrics(metrics)
        run.extra["notes"] = notes
        run.extra["predictions"] = str(out.resolve())
    return ScoreResult(rows=len(result), alerts=alerts, threshold=m.meta.get("alert_threshold"),
                       model_id=m.model_id, notes=notes, metrics=metrics)
