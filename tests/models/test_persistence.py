"""save -> load_detector gives the same predictions; damaged folders give one InputError."""

from __future__ import annotations

import json

import numpy as np
import pytest
from _detector_cases import ALL, fast
from numpy.testing import assert_allclose, assert_array_equal

from riskscope.exceptions import InputError
from riskscope.models import load_detector
from riskscope.models.persistence import FORMAT_VERSION, MODEL_FILE

MODEL_FILES = {
    "mlp": "weights.safetensors",
    "autoencoder": "weights.safetensors",
    "lightgbm": "lightgbm.txt",
    "xgboost": "xgboost.json",
    "random_forest": "forest.skops",
    "isolation_forest": "forest.skops",
}


@pytest.fixture(scope="module")
def saved(toy_split, tmp_path_factory):
    """Each detector fitted once and saved; tests copy the folder before damaging it."""
    X, y, Xv, yv = toy_split
    out = {}
    for name in ALL:
        det = fast(name).fit(X, y, X_val=Xv, y_val=yv)
        folder = det.save(tmp_path_factory.mktemp(name) / "model")
        out[name] = (det, folder)
    return out


def _copy(folder, tmp_path):
    import shutil

    return shutil.copytree(folder, tmp_path / "copy")


@pytest.mark.parametrize("name", ALL)
def test_round_trip_predicts_identically(name, saved, toy_split):
    det, folder = saved[name]
    _, _, Xv, _ = toy_split
    back = load_detector(folder)
    assert type(back) is type(det)
    assert back.get_params() == det.get_params()
    assert_array_equal(back.classes_, det.classes_)
    assert back.classes_.dtype.kind == det.classes_.dtype.kind
    assert back.feature_names_in_.tolist() == det.feature_names_in_.tolist()
    assert_allclose(back.predict_proba(Xv), det.predict_proba(Xv), rtol=0, atol=1e-12)
    assert_array_equal(back.predict(Xv), det.predict(Xv))
    if hasattr(det, "score_samples"):
        assert_allclose(back.score_samples(Xv), det.score_samples(Xv), rtol=0, atol=1e-12)
        assert back.offset_ == det.offset_


@pytest.mark.parametrize("name", ALL)
def test_folder_holds_model_json_and_the_library_format(name, saved):
    _, folder = saved[name]
    meta = json.loads((folder / MODEL_FILE).read_text())
    assert meta["kind"] == name
    assert meta["format_version"] == FORMAT_VERSION
    assert meta["feature_names"] == [f"f{i}" for i in range(8)]
    assert set(meta["files"]) == {MODEL_FILES[name]}
    assert meta["libraries"] and "unknown" not in meta["libraries"].values()
    assert sorted(p.name for p in folder.iterdir()) == sorted([MODEL_FILE, MODEL_FILES[name]])
    for p in folder.iterdir():  # never a pickle
        assert not p.read_bytes().startswith(b"\x80")


def test_integer_labels_and_int_keyed_class_weight_survive(tmp_path):
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=200, n_classes=3, n_informative=4, random_state=1)
    det = fast("mlp", class_weight={0: 1.0, 2: 3.0}).fit(X, y)
    back = load_detector(det.save(tmp_path / "m"))
    assert back.classes_.tolist() == [0, 1, 2] and back.classes_.dtype.kind == "i"
    assert back.class_weight == {0: 1.0, 2: 3.0}
    assert back.hidden_layer_sizes == (16, 8)
    assert not hasattr(back, "feature_names_in_")
    assert_array_equal(back.predict(X), det.predict(X))


@pytest.mark.parametrize("name", ALL)
def test_altered_model_file(name, saved, tmp_path):
    folder = _copy(saved[name][1], tmp_path)
    path = folder / MODEL_FILES[name]
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(InputError, match="does not match the SHA-256 recorded in model.json"):
        load_detector(folder)


@pytest.mark.parametrize("name", ALL)
def test_missing_model_file(name, saved, tmp_path):
    folder = _copy(saved[name][1], tmp_path)
    (folder / MODEL_FILES[name]).unlink()
    with pytest.raises(InputError, match=f"lacks its model file '{MODEL_FILES[name]}'"):
        load_detector(folder)


@pytest.mark.parametrize("name", ["mlp", "lightgbm", "xgboost", "random_forest"])
def test_damaged_file_with_matching_checksum_still_fails_cleanly(name, saved, tmp_path):
    # Someone "fixes" the checksum after damaging the file: the library's reader fails,
    # and that failure still comes out as one InputError line.
    import hashlib

    folder = _copy(saved[name][1], tmp_path)
    path = folder / MODEL_FILES[name]
    path.write_bytes(path.read_bytes()[:50])
    meta = json.loads((folder / MODEL_FILE).read_text())
    meta["files"][MODEL_FILES[name]] = hashlib.sha256(path.read_bytes()).hexdigest()
    (folder / MODEL_FILE).write_text(json.dumps(meta))
    with pytest.raises(InputError, match=f"could not be loaded as '{name}'") as info:
        load_detector(folder)
    assert "\n" not in str(info.value)


def test_model_json_problems(saved, tmp_path):
    folder = _copy(saved["lightgbm"][1], tmp_path)
    meta_path = folder / MODEL_FILE
    meta = json.loads(meta_path.read_text())

    meta_path.write_text("{not json")
    with pytest.raises(InputError, match="is not valid JSON"):
        load_detector(folder)
    meta_path.write_text(json.dumps({**meta, "format_version": 99}))
    with pytest.raises(InputError, match="format_version 99; this riskscope reads 1"):
        load_detector(folder)
    meta_path.write_text(json.dumps({**meta, "kind": "svm"}))
    with pytest.raises(InputError, match="unknown detector kind 'svm'"):
        load_detector(folder)
    meta_path.write_text(json.dumps({k: v for k, v in meta.items() if k != "classes"}))
    with pytest.raises(InputError, match="lacks classes"):
        load_detector(folder)
    meta_path.write_text(json.dumps({**meta, "files": {"../x.txt": "0"}}))
    with pytest.raises(InputError, match="lacks its model file"):
        load_detector(folder)
    meta_path.write_text(json.dumps([1, 2]))
    with pytest.raises(InputError, match="not a riskscope detector file"):
        load_detector(folder)
    meta_path.unlink()
    with pytest.raises(InputError, match="has no model.json"):
        load_detector(folder)


def test_missing_folder_and_file_path(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        load_detector(tmp_path / "nowhere")
    f = tmp_path / "file.txt"
    f.write_text("x")
    with pytest.raises(InputError, match="is not a folder"):
        load_detector(f)


def test_untrusted_type_in_forest_file_is_refused(saved, tmp_path, monkeypatch):
    from riskscope.models import forest

    folder = _copy(saved["random_forest"][1], tmp_path)
    # Pretend the forest class were not on the trusted list: loading must refuse.
    monkeypatch.setattr(
        forest,
        "TRUSTED_TYPES",
        tuple(t for t in forest.TRUSTED_TYPES if not t.endswith("._tree.Tree")),
    )
    with pytest.raises(InputError, match="holds types riskscope does not trust"):
        load_detector(folder)


def test_save_unfitted_is_refused(tmp_path):
    from riskscope.exceptions import NotFittedError

    with pytest.raises(NotFittedError, match="not fitted yet"):
        fast("xgboost").save(tmp_path / "m")


def test_save_overwrites_and_reloads(saved, toy_split, tmp_path):
    X, y, Xv, _ = toy_split
    folder = tmp_path / "m"
    fast("lightgbm", seed=1).fit(X, y).save(folder)
    second = fast("lightgbm", seed=2, learning_rate=0.3).fit(X, y)
    second.save(folder)
    assert_allclose(load_detector(folder).predict_proba(Xv), second.predict_proba(Xv))
    assert np.isfinite(load_detector(folder).predict_proba(Xv)).all()
