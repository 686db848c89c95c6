"""Readable reason texts and values for credit reason codes (German credit by default).

Split from :mod:`riskscope.explain.reasons`, which re-exports these names.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson
import pandas as pd

from riskscope.exceptions import SchemaError

__all__ = ["REASON_TEXTS", "readable_value", "source_features"]

#: Default reason text per feature of German credit. Where the adverse side of a feature is
#: the same for every applicant the text states it ("... is long"); where the data's risk is
#: not monotone (the lowest risk of ``credit_history`` is "critical account", of ``savings``
#: "unknown / no savings account") the text names the factor and the applicant's own value
#: goes beside it, so no text claims something the data does not say.
REASON_TEXTS: dict[str, str] = {
    "checking_status": "Status of the checking account",
    "duration_months": "Duration of the credit is long",
    "credit_history": "Credit history at this and other banks",
    "purpose": "Purpose of the credit",
    "credit_amount": "Amount of the credit",
    "savings": "Savings and bonds held",
    "employment_since": "Length of present employment",
    "installment_rate": "Installments are high relative to disposable income",
    "personal_status_sex": "Personal status and sex",
    "other_debtors": "Other debtors or guarantors",
    "residence_since": "Length of present residence",
    "property": "Property held as security",
    "age_years": "Age",
    "other_installment_plans": "Other installment plans",
    "housing": "Housing",
    "existing_credits": "Number of existing credits at this bank",
    "job": "Type of job",
    "people_liable": "Number of people the applicant supports",
    "telephone": "Telephone registration",
    "foreign_worker": "Foreign worker status",
}


def readable_value(feature: str, value: Any) -> float | int | str | None:
    """The applicant's value as a plain, readable scalar.

    German credit A-codes become their documented text; numpy scalars become Python
    numbers; missing values become None.

    Examples
    --------
    >>> from riskscope.explain.reasons import readable_value
    >>> readable_value("checking_status", "A14"), readable_value("duration_months", 48)
    ('no checking account', 48)
    >>> readable_value("savings", float("nan")) is None
    True
    """
    from riskscope.datasets._german_codes import CODES

    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, str):
        return CODES.get(feature, {}).get(value, value)
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)  # 48.0 months reads as 48; the contribution is unchanged
    if isinstance(value, int | float):
        return value
    return str(value)


def source_features(encoded: Sequence[str], columns: Sequence[str]) -> list[str]:
    """The source column of each encoded column, from scikit-learn's feature names.

    A ``ColumnTransformer`` prefix (``cat__``) is dropped; then a name equal to a column is
    that column, ``missingindicator_<col>`` is ``col`` and ``<col>_<category>`` (what
    ``OneHotEncoder`` writes) is the longest column it starts with.

    Examples
    --------
    >>> from riskscope.explain.reasons import source_features
    >>> source_features(["num__age", "num__missingindicator_age", "cat__job_A171",
    ...                  "cat__job_type_x"], ["age", "job", "job_type"])
    ['age', 'age', 'job', 'job_type']
    """
    cols = sorted((str(c) for c in columns), key=len, reverse=True)
    known = set(cols)
    out = []
    for raw in encoded:
        name = str(raw).split("__", 1)[1] if "__" in str(raw) else str(raw)
        name = name.removeprefix("missingindicator_")
        hit = name if name in known else next((c for c in cols if name.startswith(c + "_")),
                                              None)
        if hit is None:
            raise SchemaError(f"Encoded column {raw!r} matches none of the source columns "
                              f"({', '.join(cols[:5])}, ...); pass feature_map= to name it.")
        out.append(hit)
    return out


def _load_texts(texts: Mapping[str, str] | str | os.PathLike[str] | None) -> dict[str, str]:
    out = dict(REASON_TEXTS)
    if texts is None:
        return out
    if isinstance(texts, Mapping):
        return out | {str(k): str(v) for k, v in texts.items()}
    try:
        data = orjson.loads(Path(texts).read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise SchemaError(f"Reason texts file '{texts}' is unreadable or not JSON ({exc}); "
                          "pass a JSON object of feature -> text.") from None
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise SchemaError(f"Reason texts file '{texts}' must hold one JSON object of "
                          "feature -> text.")
    return out | data


def _text(texts: Mapping[str, str], feature: str) -> str:
    return texts.get(feature) or feature.replace("_", " ").capitalize()
