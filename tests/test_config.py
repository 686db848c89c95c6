"""Settings precedence: CLI flag > environment > config file > default."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from riskscope.config import Settings, load_config_file, resolve, seed_everything
from riskscope.exceptions import ConfigError


@pytest.mark.parametrize(
    ("cli", "env", "file", "expected"),
    [
        ({}, {}, {}, 42),
        ({}, {}, {"seed": 3}, 3),
        ({}, {"RISKSCOPE_SEED": "5"}, {"seed": 3}, 5),
        ({"seed": 9}, {"RISKSCOPE_SEED": "5"}, {"seed": 3}, 9),
        ({"seed": None}, {"RISKSCOPE_SEED": ""}, {"seed": 3}, 3),  # empty env = unset
    ],
)
def test_precedence(cli, env, file, expected):
    assert resolve(Settings, cli=cli, env=env, file=file).seed == expected


def test_config_file_formats_agree(tmp_path: Path):
    toml = tmp_path / "c.toml"
    toml.write_text('seed = 11\nruns_dir = "out"\n[profile]\nsample_rows = 10\n')
    yml = tmp_path / "c.yaml"
    yml.write_text("seed: 11\nruns_dir: out\nprofile:\n  sample_rows: 10\n")
    a = resolve(Settings, env={}, file=load_config_file(toml))
    b = resolve(Settings, env={}, file=load_config_file(yml))
    assert a == b and a.seed == 11 and a.runs_dir == Path("out")


def test_invalid_value_names_its_source():
    with pytest.raises(ConfigError, match="'seed' from the environment is invalid"):
        resolve(Settings, env={"RISKSCOPE_SEED": "abc"}, file={})
    with pytest.raises(ConfigError, match="'seed' from the command line is invalid"):
        resolve(Settings, cli={"seed": -1}, env={}, file={})


def test_bad_config_files(tmp_path: Path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config_file(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("seed = = 1\n")
    with pytest.raises(ConfigError, match="could not be parsed"):
        load_config_file(bad)
    ini = tmp_path / "c.ini"
    ini.write_text("x")
    with pytest.raises(ConfigError, match="use a .toml"):
        load_config_file(ini)
    with pytest.raises(ConfigError, match="unknown key"):
        resolve(Settings, env={}, file={"sede": {"x": 1}}, section="sede")


def test_seed_everything_repeats():
    a = seed_everything(123).normal(size=5)
    legacy_a = np.random.rand(3)  # noqa: NPY002 - checks the legacy global is seeded
    b = seed_everything(123).normal(size=5)
    legacy_b = np.random.rand(3)  # noqa: NPY002
    assert np.array_equal(a, b) and np.array_equal(legacy_a, legacy_b)
    assert not np.array_equal(a, seed_everything(124).normal(size=5))
