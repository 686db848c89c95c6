"""A small German-credit sample and one credit run with its saved scorecard, shared."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from riskscope.config import Settings
from riskscope.datasets import load_german_credit

# Seed of the shared credit run (its folds and cut-off depend on it).
CREDIT_SEED = 4


@pytest.fixture(scope="session")
def credit_seed() -> int:
    return CREDIT_SEED


@pytest.fixture(scope="session")
def credit_sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """300 German-credit rows (70/30 kept), named columns, target 'class' good/bad."""
    df = load_german_credit()
    parts = [g.sample(n, random_state=0) for (_, g), n in
             zip(df.groupby("class", observed=True), (90, 210), strict=True)]
    path = tmp_path_factory.mktemp("credit_sample") / "german_sample.csv"
    pd.concat(parts).sample(frac=1, random_state=1).to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def credit_model(credit_sample: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder of a finished `credit run` (lr_woe, 2 folds x 1) on the sample."""
    from riskscope.pipelines.credit import CreditConfig, run_credit

    cfg = CreditConfig(data=str(credit_sample), target="class", models=("lr_woe",), folds=2,
                       repeats=1, inner_folds=2)
    runs = tmp_path_factory.mktemp("credit_runs")
    return run_credit(cfg, Settings(runs_dir=runs, seed=CREDIT_SEED))
