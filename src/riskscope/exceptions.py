"""One exception hierarchy for riskscope.

Every error a user can cause derives from :class:`RiskscopeError`. The CLI catches it
once and prints ``error: <message>`` with exit code 1, so messages must stand alone on
one line and say what went wrong, where, what was found and how to fix it, e.g.::

    Column 'Flow Bytes/s' has 12 Infinity values (rows 4, 17, ...); use --inf-policy=drop.
"""

from __future__ import annotations

__all__ = [
    "RiskscopeError",
    "InputError",
    "SchemaError",
    "ParameterError",
    "ConfigError",
    "RunError",
    "NotFittedError",
    "LLMError",
    "LLMBlockedError",
]


class RiskscopeError(Exception):
    """Base class of every error riskscope raises on purpose."""


class InputError(RiskscopeError, OSError):
    """An input file or folder is missing, unreadable or not in a supported format."""


class SchemaError(RiskscopeError, ValueError):
    """Data was read but does not have the columns, types or values required."""


class ParameterError(RiskscopeError, ValueError):
    """An estimator or pipeline parameter is out of its allowed range."""


class ConfigError(RiskscopeError, ValueError):
    """A configuration file or environment variable could not be understood."""


class RunError(RiskscopeError):
    """A run directory or the run catalog cannot be created, read or found."""


class NotFittedError(RiskscopeError, AttributeError):
    """An estimator was used before ``fit``."""


class LLMError(RiskscopeError):
    """An LLM request failed: unreachable, timed out, HTTP error or malformed reply."""


class LLMBlockedError(LLMError):
    """A request was not sent because the PII guard found a value of the record in it."""
