"""The cut-off: least expected cost on the predictions given, exactly, and nothing else."""

from __future__ import annotations

import numpy as np
import pytest

from riskscope.evaluation.cutoff import Cutoff, choose_cutoff
from riskscope.exceptions import ParameterError, SchemaError


def _sample(seed: int, n: int = 400) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.3).astype(int)
    p = 1 / (1 + np.exp(-(1.3 * y + rng.normal(size=n) - 1.2)))
    return y, np.round(p, 2)  # rounding makes ties, the hard case


def _cost(y: np.ndarray, p: np.ndarray, t: float, bad_cost: float) -> float:
    decline = p >= t
    return (bad_cost * np.sum(~decline & (y == 1)) + np.sum(decline & (y == 0))) / y.size


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("bad_cost", [0.2, 1.0, 5.0])
def test_cutoff_is_the_brute_force_least_cost(seed: int, bad_cost: float) -> None:
    y, p = _sample(seed)
    c = choose_cutoff(y, p, bad_cost=bad_cost)
    grid = np.concatenate([np.unique(p), [1.01]])  # every distinct decision, and "none"
    best = min(_cost(y, p, t, bad_cost) for t in grid)
    assert c.expected_cost == pytest.approx(best)
    assert _cost(y, p, c.threshold, bad_cost) == pytest.approx(best)
    assert 0 < c.threshold < 1 and c.threshold not in set(p)  # halfway between predictions


def test_cost_one_maximises_accuracy_and_a_dearer_bad_lowers_the_cutoff() -> None:
    y, p = _sample(3)
    c1 = choose_cutoff(y, p)
    accs = [np.mean((p >= t) == (y == 1)) for t in np.concatenate([np.unique(p), [1.01]])]
    assert c1.accuracy == pytest.approx(max(accs))
    assert c1.expected_cost == pytest.approx(1 - c1.accuracy)
    thresholds = [choose_cutoff(y, p, bad_cost=b).threshold for b in (0.5, 1, 2, 5, 10)]
    assert thresholds == sorted(thresholds, reverse=True)
    assert choose_cutoff(y, p, bad_cost=5).decline_rate > c1.decline_rate


def test_order_and_stacking_do_not_matter() -> None:
    y, p = _sample(4)
    order = np.random.default_rng(0).permutation(y.size)
    assert choose_cutoff(y[order], p[order]) == choose_cutoff(y, p)
    twice = choose_cutoff(np.tile(y, 2), np.tile(p, 2))  # stacked CV repeats
    assert twice.threshold == choose_cutoff(y, p).threshold and twice.n == 2 * y.size


def test_json_round_trip() -> None:
    c = choose_cutoff(*_sample(5), bad_cost=5)
    assert Cutoff.from_dict(c.to_dict()) == c
    with pytest.raises(SchemaError, match="Cut-off JSON is incomplete"):
        Cutoff.from_dict({"threshold": 0.5})


@pytest.mark.parametrize(("y", "p", "kw", "error", "match"), [
    ([0, 1], [0.2, 0.8], {"bad_cost": 0}, ParameterError, r"`bad_cost` of choose_cutoff"),
    ([0, 1], [0.2, 0.8], {"bad_cost": True}, ParameterError, r"`bad_cost`"),
    ([0, 2], [0.2, 0.8], {}, SchemaError, r"must hold 1 \(bad\) and 0 \(good\)"),
    ([0, 1], [0.2, 1.8], {}, ParameterError, r"probabilities in \[0, 1\]"),
    ([0, 1, 1], [0.2, 0.8], {}, ParameterError, r"same rows"),
])
def test_bad_inputs_one_line(y, p, kw, error, match) -> None:
    with pytest.raises(error, match=match) as exc:
        choose_cutoff(y, p, **kw)
    assert "\n" not in str(exc.value)
