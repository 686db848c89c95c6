"""Portable detector files: ``model.json`` beside the library's own model format.

A saved detector is a directory::

    model.json        kind, format version, riskscope and library versions, constructor
                      parameters, classes, feature names, small learned state, and the
                      SHA-256 of every other file
    lightgbm.txt      LightGBM's text model        (kind "lightgbm")
    xgboost.json      XGBoost's JSON model         (kind "xgboost")
    weights.safetensors  torch state_dict          (kinds "mlp", "autoencoder")
    forest.skops      scikit-learn forest via skops, loaded with an explicit list of
                      trusted types               (kinds "random_forest", "isolation_forest")

Nothing is pickled. :func:`load_detector` checks the directory before it builds anything:
a missing, unreadable or altered file gives one :class:`~riskscope.exceptions.InputError`.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from riskscope.exceptions import InputError, RiskscopeError

__all__ = ["FORMAT", "FORMAT_VERSION", "MODEL_FILE", "load_detector", "save_detector"]

MODEL_FILE = "model.json"
FORMAT = "riskscope-detector"
FORMAT_VERSION = 1

#: kind -> (module, class); modules are imported on use so that torch, LightGBM and
#: XGBoost stay optional extras.
KINDS: dict[str, tuple[str, str]] = {
    "mlp": ("riskscope.models.nn", "MLPDetector"),
    "autoencoder": ("riskscope.models.autoencoder", "AutoencoderDetector"),
    "lightgbm": ("riskscope.models.gbm", "LightGBMDetector"),
    "xgboost": ("riskscope.models.gbm", "XGBoostDetector"),
    "random_forest": ("riskscope.models.forest", "RandomForestDetector"),
    "isolation_forest": ("riskscope.models.forest", "IsolationForestDetector"),
}


def detector_class(kind: str) -> type:
    """The detector class registered for ``kind`` (imports its module)."""
    module, name = KINDS[kind]
    try:
        mod = importlib.import_module(module)
    except ImportError as exc:
        extra = "nn" if kind in ("mlp", "autoencoder") else "ml"
        raise InputError(
            f"Detector kind {kind!r} needs a package that is not installed ({exc.name}); "
            f"install riskscope[{extra}]."
        ) from None
    return getattr(mod, name)


def _library_versions(modules: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for name in modules:
        try:
            out[name] = str(importlib.import_module(name).__version__)
        except (ImportError, AttributeError):
            out[name] = "unknown"
    return out


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _classes_to_json(classes: np.ndarray) -> dict[str, Any]:
    kind = classes.dtype.kind
    dtype = {"b": "bool", "i": "int", "u": "int", "f": "float"}.get(kind, "str")
    return {"dtype": dtype, "values": [jsonable(c) for c in classes.tolist()]}


def _classes_from_json(spec: dict[str, Any]) -> np.ndarray:
    dtype = {"bool": bool, "int": np.int64, "float": np.float64, "str": object}[spec["dtype"]]
    values = spec["values"]
    if spec["dtype"] == "str":
        return np.asarray([str(v) for v in values], dtype=object)
    return np.asarray(values, dtype=dtype)


def save_detector(detector: Any, directory: str | os.PathLike[str]) -> Path:
    """Write a fitted detector into ``directory`` (created if needed; files overwritten).

    Parameters
    ----------
    detector : Detector
        A fitted riskscope detector.
    directory : path-like
        Target folder.

    Returns
    -------
    pathlib.Path
        The folder.
    """
    from riskscope import __version__

    detector._check_is_fitted()
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    files = detector._save_artifacts(out)
    state = {name: jsonable(getattr(detector, name)) for name in detector._json_state}
    names = getattr(detector, "feature_names_in_", None)
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "kind": detector.kind,
        "riskscope_version": __version__,
        "libraries": _library_versions(detector._libraries),
        "params": detector._params_to_json(),
        "classes": _classes_to_json(np.asarray(detector.classes_)),
        "n_features_in": int(detector.n_features_in_),
        "feature_names": None if names is None else [str(n) for n in names],
        "state": state,
        "files": {f: _sha256(out / f) for f in files},
    }
    (out / MODEL_FILE).write_text(json.dumps(meta, indent=2, allow_nan=False) + "\n")
    return out


def _read_meta(root: Path) -> dict[str, Any]:
    if not root.exists():
        raise InputError(f"Model folder '{root}' does not exist; pass a folder made by save().")
    if not root.is_dir():
        raise InputError(f"Model path '{root}' is not a folder; pass the folder save() wrote.")
    path = root / MODEL_FILE
    if not path.is_file():
        raise InputError(
            f"Model folder '{root}' has no {MODEL_FILE}; it was not written by save() or is "
            "incomplete."
        )
    try:
        meta = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"'{path}' is not valid JSON ({exc}); re-save the model.") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise InputError(f"'{path}' is not a riskscope detector file (format {FORMAT!r}).")
    if meta.get("format_version") != FORMAT_VERSION:
        raise InputError(
            f"'{path}' has format_version {meta.get('format_version')!r}; this riskscope reads "
            f"{FORMAT_VERSION}; re-save the model with a matching version."
        )
    keys = ("kind", "params", "classes", "n_features_in", "feature_names", "state", "files")
    missing = [k for k in keys if k not in meta]
    if missing:
        raise InputError(f"'{path}' lacks {', '.join(missing)}; re-save the model.")
    if meta["kind"] not in KINDS:
        raise InputError(
            f"'{path}' names unknown detector kind {meta['kind']!r}; known: "
            f"{', '.join(sorted(KINDS))}."
        )
    for name, digest in meta["files"].items():
        f = root / name
        if Path(name).name != name or not f.is_file():
            raise InputError(f"Model folder '{root}' lacks its model file {name!r}; re-save it.")
        if _sha256(f) != digest:
            raise InputError(
                f"Model file '{f}' does not match the SHA-256 recorded in {MODEL_FILE}; it was "
                "altered or damaged: re-save the model."
            )
    return meta


def load_detector(directory: str | os.PathLike[str]) -> Any:
    """Load a detector written by ``save()``; the result predicts as the saved one did.

    Parameters
    ----------
    directory : path-like
        Folder holding ``model.json`` and the model file(s).

    Returns
    -------
    Detector
        A fitted detector of the saved kind.

    Raises
    ------
    InputError
        If the folder, ``model.json`` or a model file is missing, unreadable, of another
        format version, or altered since it was saved (SHA-256 mismatch).

    Examples
    --------
    >>> import tempfile
    >>> from riskscope.models import load_detector
    >>> load_detector(tempfile.mkdtemp())  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    riskscope.exceptions.InputError: Model folder '...' has no model.json; ...
    """
    root = Path(directory)
    meta = _read_meta(root)
    cls = detector_class(meta["kind"])
    try:
        params = cls._params_from_json(meta["params"])
        det = cls(**params)
        det.classes_ = _classes_from_json(meta["classes"])
        det.n_features_in_ = int(meta["n_features_in"])
        if meta["feature_names"] is not None:
            det.feature_names_in_ = np.asarray(meta["feature_names"], dtype=object)
        for name in cls._json_state:
            setattr(det, name, meta["state"][name])
        det._load_artifacts(root, list(meta["files"]))
    except RiskscopeError:
        raise
    except Exception as exc:  # a damaged file a checksum cannot catch (re-hashed edits)
        raise InputError(
            f"Model folder '{root}' could not be loaded as {meta['kind']!r} "
            f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); re-save "
            "the model."
        ) from None
    return det
