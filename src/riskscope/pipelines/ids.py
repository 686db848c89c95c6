"""Network intrusion detection on flow records, as named stages.

ingest -> split -> labels -> prune+scale -> compare (rebalance x detector) -> evaluate
-> benign-only -> held-out families -> save model -> report.

The order is the point: duplicates go before the split, the split before anything is
learned, and every filter, scaler, taxonomy threshold and sampler is fitted on the
training split only. The best detector is chosen, and its alert threshold set, on the
validation split; the test split is only scored.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator

from riskscope.config import Settings, seed_everything
from riskscope.exceptions import ParameterError
from riskscope.pipelines._stages import Stage, StageProgress, run_stages
from riskscope.report.html import Report
from riskscope.report.run import start_run

__all__ = ["IdsConfig", "run_ids", "run_ids_prep", "DETECTORS", "BALANCES"]

DETECTORS = ("lightgbm", "xgboost", "random_forest", "mlp")
BALANCES = ("none", "class_weight", "random_under", "random_over", "smote", "smoteenn")
BENIGN_ONLY = ("autoencoder", "isolation_forest", "none")


class IdsConfig(BaseModel):
    """Settings of ``riskscope ids run`` (``[ids]`` in a config file)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    data: str = Field("cicids2017_excerpt",
                      description="Flow file, folder or glob, or a dataset name.")
    split: Literal["stratified", "day", "conversation"] = "stratified"
    conversation_key: Literal["endpoints", "hosts"] = "endpoints"
    sizes: tuple[float, float, float] = (0.7, 0.15, 0.15)
    target: Literal["label", "group", "binary"] = Field(
        "label", description="Classify the attack labels, the grouped taxonomy, or binary.")
    detectors: tuple[str, ...] = DETECTORS
    balance: tuple[str, ...] = ("none", "class_weight", "random_over", "smoteenn")
    benign_only: Literal["autoencoder", "isolation_forest", "none"] = "autoencoder"
    inf_policy: Literal["nan", "clip", "drop", "error"] = "nan"
    nan_policy: Literal["drop", "zero", "error"] = "drop"
    corr_threshold: float | None = Field(0.9, gt=0, le=1)
    scaler: Literal["robust", "standard", "minmax", "none"] = "robust"
    floor: int = Field(5000, ge=1, description="random_over: raise every class to this.")
    group_min_count: int = Field(1000, ge=0, description="Taxonomy: rarer attacks -> Other.")
    fpr: float = Field(0.01, gt=0, lt=1, description="False-positive rate of alert thresholds.")
    held_out_families: bool = True

    @field_validator("detectors")
    @classmethod
    def _known_detectors(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        return _check_names(v, DETECTORS, "detectors")

    @field_validator("balance")
    @classmethod
    def _known_balances(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        return _check_names(v, BALANCES, "balance")


def _check_names(v: tuple[str, ...], allowed: tuple[str, ...], what: str) -> tuple[str, ...]:
    bad = [x for x in v if x not in allowed]
    if bad or not v:
        raise ValueError(
            f"unknown {what} {bad or '(none given)'}; choose from {', '.join(allowed)}")
    return tuple(dict.fromkeys(v))


# --------------------------------------------------------------------------- stages
def _resolve_source(data: str, settings: Settings) -> Path | str:
    from riskscope.io import registry

    p = Path(data)
    if p.exists() or any(ch in data for ch in "*?/") or p.suffix:
        return data
    info = registry.get_dataset(data, shared_root=settings.shared_data)
    if info.path is None:
        raise ParameterError(f"Dataset {data!r} has no files to read; pick one from "
                             "`riskscope datasets list` or give a path.")
    return info.path


def _ingest(s: dict[str, Any]) -> None:
    from riskscope.io.flows import read_flows

    cfg: IdsConfig = s["config"]
    source = _resolve_source(cfg.data, s["settings"])
    flows = read_flows(source, inf_policy=cfg.inf_policy, nan_policy=cfg.nan_policy)
    for f in flows.report.files:
        s["run"].add_input(f["path"])
    rep = flows.report.to_dict()
    s["run"].write_json("ingest.json", rep)
    s["run"].log_metrics(rows=len(flows.frame), features=len(flows.feature_columns),
                         duplicates_removed=int(rep.get("duplicate_rows") or 0))
    s.update(flows=flows, ingest=rep)


def _split(s: dict[str, Any]) -> None:
    from riskscope.features import splits

    cfg: IdsConfig = s["config"]
    fl = s["flows"]
    y = fl.frame[fl.label_column].to_numpy()
    seed = s["run"].seed
    if cfg.split == "stratified":
        sp = splits.stratified_split(y, sizes=cfg.sizes, seed=seed)
    elif cfg.split == "day":
        sp = splits.day_split(fl.frame.get("timestamp"), y)
    else:
        sp = splits.conversation_split(fl.frame[fl.meta_columns], y, key=cfg.conversation_key,
                                       sizes=cfg.sizes, seed=seed)
    s["split"] = sp
    s["run"].write_json("split.json", sp.to_dict())
    s["run"].log_metrics(train_rows=len(sp.train), val_rows=len(sp.val), test_rows=len(sp.test))


def _labels(s: dict[str, Any]) -> None:
    from riskscope.features.labels import LabelTaxonomy

    cfg: IdsConfig = s["config"]
    fl, sp = s["flows"], s["split"]
    fine = fl.frame[fl.label_column].astype(str).to_numpy()
    tax = LabelTaxonomy(min_count=cfg.group_min_count).fit(fine[sp.train])
    group = np.asarray(tax.transform(fine), dtype=object)
    benign = tax.benign
    target = {"label": fine, "group": group,
              "binary": np.where(fine == benign, "BENIGN", "ATTACK").astype(object)}[cfg.target]
    train_classes = set(target[sp.train])
    classes = [benign] + sorted(c for c in train_classes if c != benign)
    if cfg.target == "binary":
        classes = ["BENIGN", "ATTACK"]
    code = {c: i for i, c in enumerate(classes)}
    y = np.array([code.get(c, -1) for c in target], dtype=np.int64)
    # Attack families for the held-out table: the taxonomy's rules without the rarity cut,
    # so that a small family is held out on its own rather than inside "Other Attacks".
    family = np.asarray(LabelTaxonomy(min_count=0).fit(fine[sp.train]).transform(fine),
                        dtype=object)
    s.update(fine=fine, group=group, family=family, target=target, classes=classes, y=y,
             taxonomy=tax)
    s["run"].write_json("labels.json", {"target": cfg.target, "classes": classes,
                                        "taxonomy": tax.to_dict()})
    s["run"].log_metrics(classes=len(classes))


def _prepare(s: dict[str, Any]) -> None:
    from riskscope.features.preprocess import FlowPreprocessor

    cfg: IdsConfig = s["config"]
    fl, sp, y = s["flows"], s["split"], s["y"]
    X = fl.frame[fl.feature_columns]
    pre = FlowPreprocessor(corr_threshold=cfg.corr_threshold, scaler=cfg.scaler,
                           seed=s["run"].seed).fit(X.iloc[sp.train], y[sp.train])
    s["pre"] = pre
    s["X"] = {part: pre.transform(X.iloc[getattr(sp, part)]).reset_index(drop=True)
              for part in ("train", "val", "test")}
    s["Y"] = {part: y[getattr(sp, part)] for part in ("train", "val", "test")}
    s["run"].log_metrics(features_kept=len(pre.features_), constant_dropped=len(pre.constant_))


def _compare(s: dict[str, Any]) -> None:
    from riskscope.evaluation.compare import compare_detectors

    cfg: IdsConfig = s["config"]
    X, Y = s["X"], s["Y"]
    cmp = compare_detectors(X["train"], Y["train"], X["val"], Y["val"], X["test"], Y["test"],
                            detectors=cfg.detectors, balances=cfg.balance,
                            seed=s["run"].seed, floor=cfg.floor)
    s["comparison"] = cmp
    s["run"].write_table("comparison", cmp.to_frame())
    s["run"].write_json("resampling.json", {t.balance: t.resample for t in cmp.trials})


def _evaluate(s: dict[str, Any]) -> None:
    from riskscope.evaluation import metrics

    cmp, Y, classes = s["comparison"], s["Y"], s["classes"]
    model = cmp.best_model
    mcls = np.asarray(model.classes_)
    names = np.asarray(classes, dtype=object)
    pred = names[mcls[np.argmax(cmp.best_test_proba, axis=1)]]
    truth = names[Y["test"]]
    table = metrics.classification_table(truth, pred, labels=list(classes))
    conf = metrics.confusion(truth, pred, labels=list(classes))
    # Binary alerting: attack score = 1 - P(benign); threshold from validation only.
    benign_col = int(np.flatnonzero(mcls == 0)[0]) if (mcls == 0).any() else None
    att_val = 1.0 - cmp.best_val_proba[:, benign_col] if benign_col is not None else None
    att_test = 1.0 - cmp.best_test_proba[:, benign_col] if benign_col is not None else None
    yb_val, yb_test = (Y["val"] != 0).astype(int), (Y["test"] != 0).astype(int)
    out: dict[str, Any] = {"best_detector": cmp.best.detector, "best_balance": cmp.best.balance,
                           "test_macro_f1": cmp.best.test_macro_f1,
                           "val_macro_f1": cmp.best.val_macro_f1}
    ci = metrics.bootstrap_ci("macro_f1", truth, pred, n=1000, seed=s["run"].seed,
                              labels=sorted(set(truth)))
    out["test_macro_f1_ci95"] = [ci.low, ci.high]
    threshold = binary = None
    if att_val is not None and len(np.unique(yb_test)) == 2 and len(np.unique(yb_val)) == 2:
        threshold = metrics.choose_threshold(yb_val, att_val, objective="f1")
        binary = metrics.binary_scores(yb_test, att_test)
        out.update({f"binary_{k}": v for k, v in binary.to_dict().items()})
        out["alert_threshold"] = threshold.value
        alerts = threshold.predict(att_test).astype(bool)
        out["binary_test_recall_at_threshold"] = float(alerts[yb_test == 1].mean())
        out["binary_test_fpr_at_threshold"] = float(alerts[yb_test == 0].mean())
    s.update(eval_table=table, confusion=conf, threshold=threshold, pred=pred, truth=truth,
             binary=binary)
    s["run"].write_table("test_per_class", table.reset_index())
    s["run"].write_table("test_confusion", conf.reset_index())
    s["run"].log_metrics(out)


def _benign_only(s: dict[str, Any]) -> None:
    cfg: IdsConfig = s["config"]
    if cfg.benign_only == "none":
        s["anomaly"] = None
        return
    from riskscope.evaluation import metrics
    from riskscope.models import make_detector

    X, Y = s["X"], s["Y"]
    det = make_detector(cfg.benign_only, seed=s["run"].seed)
    tr, va = Y["train"] == 0, Y["val"] == 0
    det.fit(X["train"][tr], Y["train"][tr], X_val=X["val"][va], y_val=Y["val"][va])
    sv, st = det.score_samples(X["val"]), det.score_samples(X["test"])
    thr = float(np.quantile(sv[va], 1.0 - cfg.fpr))
    yb = (Y["test"] != 0).astype(int)
    res: dict[str, Any] = {"detector": cfg.benign_only, "threshold": thr,
                           "fpr_target": cfg.fpr}
    binary = None
    if len(np.unique(yb)) == 2:
        binary = metrics.binary_scores(yb, st)
        res.update(binary.to_dict())
        res["test_recall_at_threshold"] = float(np.mean(st[yb == 1] > thr))
        res["test_fpr_at_threshold"] = float(np.mean(st[yb == 0] > thr))
    s["anomaly"] = {"model": det, "val": sv, "test": st, "result": res, "binary": binary}
    s["run"].log_metrics({f"benign_only_{k}": v for k, v in res.items()
                          if isinstance(v, int | float) and k != "fpr_target"})


def _held_out(s: dict[str, Any]) -> None:
    cfg: IdsConfig = s["config"]
    if not cfg.held_out_families:
        s["held_out"] = None
        return
    from riskscope.evaluation.compare import held_out_family_table

    X, sp, group = s["X"], s["split"], s["family"]
    an = s.get("anomaly")
    table = held_out_family_table(
        X["train"], group[sp.train], X["val"], group[sp.val], X["test"], group[sp.test],
        benign=s["taxonomy"].benign,
        anomaly_scores=(an["val"], an["test"]) if an else None,
        seed=s["run"].seed, fpr=cfg.fpr)
    s["held_out"] = table
    s["run"].write_table("held_out_families", table)


def _save_model(s: dict[str, Any]) -> None:
    run = s["run"]
    cmp = s["comparison"]
    run.write_json("model/preprocessor.json", s["pre"].to_dict())
    run.write_json("model/labels.json", {"target": s["config"].target, "classes": s["classes"],
                                         "taxonomy": s["taxonomy"].to_dict()})
    # The run folder is itself staged and published by one rename, so model folders can be
    # written in place: nobody sees them before the run is complete.
    cmp.best_model.save(run.path / "model" / "detector")
    thr = s.get("threshold")
    meta: dict[str, Any] = {
        "kind": "riskscope-ids-model", "format": 1,
        "detector": cmp.best.detector, "balance": cmp.best.balance,
        "alert_threshold": None if thr is None else thr.to_dict()["value"],
        "benign_only": None,
    }
    an = s.get("anomaly")
    if an:
        an["model"].save(run.path / "model" / "benign_only")
        meta["benign_only"] = {"detector": an["result"]["detector"],
                               "threshold": an["result"]["threshold"]}
    run.write_json("model/model.json", meta)


def _report(s: dict[str, Any]) -> None:
    from riskscope.report.ids import build_ids_report

    run = s["run"]
    rep: Report = build_ids_report(s)
    run.write_report(rep)


STAGES = (
    Stage("ingest", _ingest),
    Stage("split", _split),
    Stage("labels", _labels),
    Stage("prune+scale", _prepare),
    Stage("compare", _compare),
    Stage("evaluate", _evaluate),
    Stage("benign-only", _benign_only),
    Stage("held-out families", _held_out),
    Stage("save model", _save_model),
    Stage("report", _report),
)


def run_ids(
    config: IdsConfig,
    settings: Settings,
    *,
    progress: StageProgress | None = None,
    parent: str | None = None,
) -> Path:
    """Run the ids pipeline and return the finished run folder.

    Examples
    --------
    >>> import tempfile
    >>> from riskscope.config import Settings
    >>> cfg = IdsConfig(detectors=("lightgbm",), balance=("none",), benign_only="none",
    ...                 held_out_families=False)
    >>> out = run_ids(cfg, Settings(runs_dir=tempfile.mkdtemp()))  # doctest: +SKIP
    """
    seed_everything(settings.seed)
    params = config.model_dump(mode="json")
    with start_run("ids", runs_dir=settings.runs_dir, seed=settings.seed,
                   parameters=params, parent=parent) as run:
        state: dict[str, Any] = {"config": config, "settings": settings, "run": run}
        run_stages("ids", STAGES, state, progress)
    return run.path


# --------------------------------------------------------------------------- prep only
def _rebalance_write(s: dict[str, Any]) -> None:
    """Resample the training split with the first balance strategy; write the splits."""
    from riskscope.sampling import make_sampler

    cfg: IdsConfig = s["config"]
    run, X, Y = s["run"], s["X"], s["Y"]
    balance = cfg.balance[0]
    Xt, yt = X["train"], Y["train"]
    if balance not in ("none", "class_weight"):
        sampler = make_sampler(balance, seed=run.seed, floor=cfg.floor)
        Xr, yt = sampler.fit_resample(Xt.to_numpy(np.float32), yt)
        Xt = pd.DataFrame(np.asarray(Xr, dtype=np.float32), columns=X["train"].columns)
        rep = getattr(sampler, "report_", None)
        run.write_json("resampling.json", rep.to_dict() if rep is not None else {})
    parts = {"train": (Xt, yt), "val": (X["val"], Y["val"]), "test": (X["test"], Y["test"])}

    def write(part: str) -> None:
        Xp, yp = parts[part]
        run.write_table(part, Xp.assign(y=np.asarray(yp, dtype=np.int32)))

    # pyarrow encodes without the GIL: the three files are written side by side
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(write, parts))
    run.write_json("model/preprocessor.json", s["pre"].to_dict())
    run.write_json("model/labels.json", {"target": cfg.target, "classes": s["classes"],
                                         "taxonomy": s["taxonomy"].to_dict()})
    run.log_metrics(train_rows_resampled=len(yt), balance=balance)


PREP_STAGES = (
    Stage("ingest", _ingest),
    Stage("split", _split),
    Stage("labels", _labels),
    Stage("prune+scale", _prepare),
    Stage("rebalance+write", _rebalance_write),
)


def run_ids_prep(
    config: IdsConfig,
    settings: Settings,
    *,
    progress: StageProgress | None = None,
) -> Path:
    """Prepare flows for training without training anything (the reference notebook's job).

    Writes ``tables/{train,val,test}.parquet`` (scaled features and the integer target
    ``y``; train resampled with ``config.balance[0]``), the preprocessor and the label
    encoding as JSON. Returns the run folder.
    """
    seed_everything(settings.seed)
    with start_run("ids-prep", runs_dir=settings.runs_dir, seed=settings.seed,
                   parameters=config.model_dump(mode="json")) as run:
        state: dict[str, Any] = {"config": config, "settings": settings, "run": run}
        run_stages("ids-prep", PREP_STAGES, state, progress)
    return run.path
