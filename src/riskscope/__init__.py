"""riskscope: turn raw security and financial records into risk decisions people can trust.

Four capabilities share one foundation of validated inputs, recorded runs and reports:
``ids`` (network intrusion detection), ``credit`` (credit scoring), ``apt`` (APT detection
on provenance graphs) and ``explain`` (grounded explanations and review).
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("riskscope")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
