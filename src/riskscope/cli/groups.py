"""Command groups of the four capabilities; each capability's issue fills its group."""

from __future__ import annotations

import typer

__all__ = ["GROUPS"]


def _group(help_text: str) -> typer.Typer:
    grp = typer.Typer(help=help_text, no_args_is_help=True, rich_markup_mode="rich")

    @grp.callback()
    def _callback() -> None:
        pass

    _callback.__doc__ = help_text
    return grp


GROUPS: dict[str, typer.Typer] = {
    "ids": _group(
        "Network intrusion detection from CICFlowMeter / CICIDS2017 flow records: ingest, "
        "label, prune, split, rebalance, train and compare detectors, score new flows."
    ),
    "credit": _group(
        "Credit scoring: WOE/IV binning, IV + XGBoost feature selection, tuned random forest, "
        "honest comparison with LR/SVM/MLP, scorecards and reason codes."
    ),
    "apt": _group(
        "APT detection on host provenance graphs: logs -> graph -> pruning -> Word2Vec + "
        "GraphSAGE -> LightGBM node classifier -> ranked alerts; plus a Linux recorder."
    ),
    "explain": _group(
        "The analyst assistant: reason codes, grounded reports and Q&A, PII redaction, "
        "fairness audits and human review."
    ),
}
