"""Typed settings and the one rule for where a setting comes from.

Precedence, highest first, written down once here and tested:

1. a command-line flag (``--seed 7``),
2. an environment variable (``RISKSCOPE_SEED=7``),
3. a config file (``--config riskscope.toml`` or ``$RISKSCOPE_CONFIG``; TOML or YAML),
4. the default declared on the model.

Pipelines declare their own settings as pydantic models and resolve them with
:func:`resolve`, so every pipeline follows the same rule.
"""

from __future__ import annotations

import os
import random
import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from riskscope.exceptions import ConfigError

__all__ = ["Settings", "resolve", "load_config_file", "seed_everything", "ENV_PREFIX"]

ENV_PREFIX = "RISKSCOPE_"

M = TypeVar("M", bound=BaseModel)


class Settings(BaseModel):
    """Global settings shared by every command.

    Examples
    --------
    >>> s = resolve(Settings, cli={"seed": 7}, env={}, file={})
    >>> s.seed, s.runs_dir.name
    (7, 'runs')
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    seed: int = Field(42, ge=0, le=2**32 - 1, description="Seed for every random step.")
    runs_dir: Path = Field(Path("runs"), description="Folder that holds run directories.")
    shared_data: Path | None = Field(None, description="The shared real-data folder.")
    debug: bool = Field(False, description="Show tracebacks on errors.")


def load_config_file(path: str | os.PathLike[str] | None) -> dict[str, Any]:
    """Read a TOML or YAML config file into a dict (empty when ``path`` is None).

    Examples
    --------
    >>> load_config_file(None)
    {}
    """
    if path is None:
        return {}
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"Config file '{p}' does not exist; check the --config path.")
    text = p.read_text(encoding="utf-8")
    try:
        if p.suffix.lower() == ".toml":
            data = tomllib.loads(text)
        elif p.suffix.lower() in {".yaml", ".yml"}:
            data = yaml.safe_load(text) or {}
        else:
            raise ConfigError(
                f"Config file '{p}' has suffix '{p.suffix}'; use a .toml, .yaml or .yml file."
            )
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        first = str(exc).splitlines()[0]
        raise ConfigError(
            f"Config file '{p}' could not be parsed ({first}); fix its syntax."
        ) from None
    if not isinstance(data, dict):
        raise ConfigError(
            f"Config file '{p}' must hold a mapping at top level; got {type(data).__name__}."
        )
    return data


def _from_env(model: type[BaseModel], env: Mapping[str, str], prefix: str) -> dict[str, str]:
    out = {}
    for name in model.model_fields:
        key = prefix + name.upper()
        if key in env and env[key] != "":
            out[name] = env[key]
    return out


def resolve(
    model: type[M],
    *,
    cli: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    file: Mapping[str, Any] | None = None,
    section: str | None = None,
    prefix: str = ENV_PREFIX,
) -> M:
    """Build ``model`` from CLI values, environment, config file and defaults.

    Parameters
    ----------
    model : pydantic model class
        The settings model; its field names are the keys everywhere.
    cli : mapping, optional
        Values given on the command line; ``None`` values mean "not given".
    env : mapping, optional
        Environment (default ``os.environ``); variables are ``<prefix><FIELD>``.
    file : mapping, optional
        Parsed config file; with ``section`` only that table is used.
    section : str, optional
        Table of the config file for this model (e.g. ``"profile"``).
    prefix : str
        Environment variable prefix; pipelines use ``RISKSCOPE_<PIPELINE>_``.

    Returns
    -------
    model instance

    Raises
    ------
    ConfigError
        When a value has the wrong type or range; the message names its source.

    Examples
    --------
    >>> s = resolve(Settings, cli={"seed": None}, env={"RISKSCOPE_SEED": "5"},
    ...             file={"seed": 3})
    >>> s.seed
    5
    """
    env = os.environ if env is None else env
    file = dict(file or {})
    if section is not None:
        file = dict(file.get(section) or {})
    else:
        # Top-level scalars only; tables belong to pipelines.
        file = {k: v for k, v in file.items() if not isinstance(v, dict)}
    layers = [
        ("config file", {k: v for k, v in file.items() if k in model.model_fields}),
        ("environment", _from_env(model, env, prefix)),
        ("command line", {k: v for k, v in (cli or {}).items() if v is not None}),
    ]
    unknown = sorted(set(file) - set(model.model_fields))
    if unknown:
        raise ConfigError(
            f"Config file has unknown key(s) {', '.join(unknown)}"
            f"{' in [' + section + ']' if section else ''}; "
            f"allowed: {', '.join(model.model_fields)}."
        )
    merged: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for where, values in layers:
        merged.update(values)
        origin.update(dict.fromkeys(values, where))
    try:
        return model(**merged)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = str(err["loc"][0]) if err["loc"] else "?"
        src = origin.get(field, "default")
        raise ConfigError(
            f"Setting '{field}' from the {src} is invalid: {err['msg']} "
            f"(got {err.get('input')!r}); fix the value."
        ) from None


def seed_everything(seed: int) -> np.random.Generator:
    """Seed Python's, NumPy's and (when loaded) torch's global generators.

    Code should prefer the returned ``Generator`` or pass ``seed`` explicitly; seeding the
    globals guards third-party code that draws from them.

    Examples
    --------
    >>> a = seed_everything(3).random()
    >>> b = seed_everything(3).random()
    >>> a == b
    True
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002 - seeding the legacy global is the point
    torch = sys.modules.get("torch")
    if torch is not None:  # never import torch just to seed it
        torch.manual_seed(seed)
    return np.random.default_rng(seed)
