"""Tests for riskscope.features.labels: binary target, taxonomy, encoding."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from riskscope.exceptions import InputError, NotFittedError, ParameterError, SchemaError
from riskscope.features.labels import (
    DEFAULT_RULES,
    LabelEncoding,
    LabelTaxonomy,
    binary_labels,
)

#: CICIDS2017 label counts as the reference notebook printed them (canonical spellings).
NOTEBOOK_COUNTS = {
    "BENIGN": 2_273_097, "DoS Hulk": 231_073, "PortScan": 158_930, "DDoS": 128_027,
    "DoS GoldenEye": 10_293, "FTP-Patator": 7_938, "SSH-Patator": 5_897,
    "DoS slowloris": 5_796, "DoS Slowhttptest": 5_499, "Bot": 1_966,
    "Web Attack - Brute Force": 1_507, "Web Attack - XSS": 652, "Infiltration": 36,
    "Web Attack - Sql Injection": 21, "Heartbleed": 11,
}  # fmt: skip


def _labels(counts: dict[str, int], scale: int = 1) -> np.ndarray:
    names = np.array(list(counts), dtype=object)
    return np.repeat(names, [max(1, n // scale) for n in counts.values()])


# --- binary ---------------------------------------------------------------------------------


def test_binary_labels():
    out = binary_labels(pd.Series(["BENIGN", "DDoS", " benign ", "PortScan"]))
    assert out.dtype == np.int8 and out.tolist() == [0, 1, 0, 1]
    assert binary_labels(["Normal", "x"], benign="normal").tolist() == [0, 1]


def test_labels_read_alike_from_list_array_and_series():
    raw = ["BENIGN", "DDoS", "Web Attack - XSS", "BENIGN", "DoS Hulk"] * 300
    tax = LabelTaxonomy(min_count=400).fit(raw)
    for form in (np.array(raw, dtype=object), np.array(raw), pd.Series(raw, dtype="string"),
                 pd.Series(raw, dtype="category")):
        assert LabelTaxonomy(min_count=400).fit(form).mapping_ == tax.mapping_
        assert list(tax.transform(form)) == list(tax.transform(raw))
        assert binary_labels(form).tolist() == binary_labels(raw).tolist()
    # values that print alike are one label, as before (1 and "1")
    assert LabelTaxonomy(min_count=0).fit([1, "1", "BENIGN"]).counts_ == {"1": 2, "BENIGN": 1}
    with pytest.raises(ParameterError, match=r"binary_labels needs a 1-D array of labels"):
        binary_labels(np.array([["BENIGN"], ["DDoS"]]))


def test_binary_labels_rejects_missing():
    with pytest.raises(SchemaError, match=r"binary_labels got 1 missing labels \(first at "
                       r"position 1\)"):  # fmt: skip
        binary_labels(["BENIGN", None])


# --- taxonomy ---------------------------------------------------------------------------------


def test_default_taxonomy_reproduces_the_notebook_groups():
    # The notebook's own output: Normal 2,273,097, DOS 380,688, PORTSCAN 158,930,
    # FTP-PATATOR 7,938, SSH-PATATOR 5,897, BOT 1,966, Web Attack 1,507, Other Attacks 720.
    # Counts divided by 10 with min_count 100 give the same grouping.
    tax = LabelTaxonomy(min_count=100).fit(_labels(NOTEBOOK_COUNTS, scale=10))
    assert tax.classes_ == ["BENIGN", "Bot", "DOS", "FTP-Patator", "Other Attacks", "PortScan",
                            "SSH-Patator", "Web Attack"]  # fmt: skip
    counts = tax.group_counts()
    assert counts["DOS"] == sum(NOTEBOOK_COUNTS[k] // 10 for k in NOTEBOOK_COUNTS if "DoS" in k)
    assert counts["Web Attack"] == 150  # only Brute Force: XSS (65 here) is rare first
    assert counts["Other Attacks"] == 65 + 3 + 2 + 1
    assert tax.mapping_["DDoS"] == "DOS"  # as the notebook does


def test_rare_by_group_folds_groups_instead():
    tax = LabelTaxonomy(min_count=100, rare_by="group").fit(_labels(NOTEBOOK_COUNTS, scale=10))
    counts = tax.group_counts()
    assert counts["Web Attack"] == 150 + 65 + 2 and counts["Other Attacks"] == 3 + 1


def test_unseen_labels_go_through_the_rules_then_to_other():
    tax = LabelTaxonomy(min_count=2).fit(["BENIGN", "DoS Hulk", "DoS Hulk", "PortScan",
                                          "PortScan"])  # fmt: skip
    out = tax.transform(["benign", "DDoS", "Web Attack - XSS", "Zero-day", "PortScan"])
    assert out.tolist() == ["BENIGN", "DOS", "Web Attack", "Other Attacks", "PortScan"]


def test_transform_keeps_series_index_and_name():
    y = pd.Series(["BENIGN", "DDoS", "DDoS"], index=[10, 20, 30], name="label")
    out = LabelTaxonomy(min_count=1).fit_transform(y)
    assert isinstance(out, pd.Series) and out.index.tolist() == [10, 20, 30]
    assert out.name == "label" and out.tolist() == ["BENIGN", "DOS", "DOS"]
    assert isinstance(LabelTaxonomy(min_count=1).fit_transform(["BENIGN"]), np.ndarray)


def test_custom_rules_first_match_wins():
    rules = [("WEB ATTACK - XSS", "XSS"), ("WEB", "Web")]
    tax = LabelTaxonomy(rules=rules, min_count=0).fit(
        ["Web Attack - XSS", "Web Attack - Brute Force", "BENIGN"]
    )
    assert tax.mapping_ == {"BENIGN": "BENIGN", "Web Attack - Brute Force": "Web",
                            "Web Attack - XSS": "XSS"}  # fmt: skip


def test_fit_ignores_row_order():
    y = _labels(NOTEBOOK_COUNTS, scale=100)
    shuffled = np.random.default_rng(0).permutation(y)
    a, b = LabelTaxonomy(min_count=10).fit(y), LabelTaxonomy(min_count=10).fit(shuffled)
    assert a.to_dict() == b.to_dict()


def test_json_round_trip_is_identical():
    tax = LabelTaxonomy(min_count=100).fit(_labels(NOTEBOOK_COUNTS, scale=10))
    text = json.dumps(tax.to_dict(), sort_keys=True)
    again = LabelTaxonomy.from_dict(json.loads(text))
    assert json.dumps(again.to_dict(), sort_keys=True) == text
    y = ["Heartbleed", "DDoS", "new thing", "BENIGN"]
    assert again.transform(y).tolist() == tax.transform(y).tolist()
    assert again.get_params() == tax.get_params()
    assert again.encoding_ == tax.encoding_


def test_sklearn_clone_and_params():
    tax = LabelTaxonomy(min_count=5, other="Rare")
    assert clone(tax).get_params() == tax.get_params()
    assert tax.get_params()["rules"] == DEFAULT_RULES
    assert tax.get_feature_names_out().tolist() == ["label_group"]


def test_not_fitted():
    with pytest.raises(NotFittedError, match=r"This LabelTaxonomy is not fitted yet; call fit"):
        LabelTaxonomy().transform(["BENIGN"])


@pytest.mark.parametrize(
    ("params", "pattern"),
    [({"min_count": -1}, r"`min_count` of LabelTaxonomy must be an int >= 0; got -1\."),
     ({"min_count": 1.5}, r"`min_count` of LabelTaxonomy must be an int >= 0; got 1\.5\."),
     ({"rules": [("DOS",)]}, r"`rules` of LabelTaxonomy must be a sequence of \(substring, "
                             r"group\) pairs"),
     ({"rules": "DOS"}, r"`rules` of LabelTaxonomy must be a sequence"),
     ({"other": ""}, r"`other` of LabelTaxonomy must be a non-empty string"),
     ({"rare_by": "class"}, r"`rare_by` of LabelTaxonomy must be 'label' or 'group'")],
)  # fmt: skip
def test_bad_parameters(params: dict, pattern: str):
    with pytest.raises(ParameterError, match=pattern):
        LabelTaxonomy(**params).fit(["BENIGN", "DDoS"])


def test_bad_inputs():
    with pytest.raises(SchemaError, match=r"LabelTaxonomy.fit got no labels"):
        LabelTaxonomy().fit([])
    with pytest.raises(SchemaError, match=r"LabelTaxonomy.fit got 1 missing labels"):
        LabelTaxonomy().fit(["BENIGN", np.nan])
    with pytest.raises(SchemaError, match=r"Not a saved LabelTaxonomy"):
        LabelTaxonomy.from_dict({"classes": []})


# --- encoding ----------------------------------------------------------------------------------


def test_encoding_is_benign_first_then_sorted():
    enc = LabelEncoding.from_labels(["PortScan", "DOS", "BENIGN", "Bot", "DOS"])
    assert enc.classes == ("BENIGN", "Bot", "DOS", "PortScan")
    assert enc.mapping == {"BENIGN": 0, "Bot": 1, "DOS": 2, "PortScan": 3}
    codes = enc.encode(pd.Series(["DOS", "BENIGN", "PortScan"]))
    assert codes.dtype == np.int64 and codes.tolist() == [2, 0, 3]
    assert enc.decode(codes).tolist() == ["DOS", "BENIGN", "PortScan"]
    assert LabelEncoding.from_labels(["b", "a"]).classes == ("a", "b")  # no BENIGN: sorted


def test_taxonomy_encoding_matches_its_classes():
    tax = LabelTaxonomy(min_count=1).fit(["DDoS", "BENIGN", "PortScan"])
    assert tax.encoding_.classes == tuple(tax.classes_) == ("BENIGN", "DOS", "PortScan")
    assert tax.encoding_.encode(tax.transform(["PortScan", "DDoS"])).tolist() == [2, 1]


def test_encoding_json_file_round_trip(tmp_path: Path):
    enc = LabelEncoding(("BENIGN", "DOS", "Other Attacks"))
    path = enc.save(tmp_path / "encoding.json")
    assert json.loads(path.read_text())["mapping"] == {"BENIGN": 0, "DOS": 1, "Other Attacks": 2}
    assert LabelEncoding.load(path) == enc


def test_encoding_errors(tmp_path: Path):
    enc = LabelEncoding(("BENIGN", "DOS"))
    with pytest.raises(SchemaError, match=r"LabelEncoding.encode got labels outside its "
                       r"classes: \['DDoS'\]"):  # fmt: skip
        enc.encode(["DDoS"])
    with pytest.raises(ParameterError, match=r"`codes` must lie in 0\.\.1; got 0\.\.2\."):
        enc.decode([0, 2])
    with pytest.raises(ParameterError, match=r"`classes` of LabelEncoding must be distinct"):
        LabelEncoding(("a", "a"))
    with pytest.raises(InputError, match=r"Label encoding file '.*nope\.json' could not be"):
        LabelEncoding.load(tmp_path / "nope.json")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(SchemaError, match=r"is not valid JSON"):
        LabelEncoding.load(tmp_path / "bad.json")
