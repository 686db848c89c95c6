"""Every number and feature name in a delivered narrative traces to a fact id.

Property over all 1,000 German credit applicants (scorecard, both Regulation B methods);
the ids flows are covered in test_alert_facts.py with the same helper.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from riskscope.datasets import load_german_credit
from riskscope.evaluation.cutoff import choose_cutoff
from riskscope.explain.checker import check, extract_numbers
from riskscope.explain.credit_facts import credit_fact_tables
from riskscope.explain.facts import FactTable
from riskscope.explain.narrate import Narrative, TemplateNarrator
from riskscope.explain.reasons import GERMAN_PROTECTED, ReasonCoder
from riskscope.pipelines.credit_score import CreditModel
from riskscope.scorecard import Scorecard


def assert_grounded(n: Narrative, facts: FactTable, names: set[str]) -> None:
    """Each number and each mention of a known name lies in a span citing a real fact."""
    def inside(start: int, end: int) -> bool:
        return any(s.start <= start and end <= s.end and s.fact_id in facts for s in n.spans)

    for tok in extract_numbers(n.text):
        assert inside(tok.start, tok.end), (tok, n.marked())
    for name in names:
        for m in re.finditer(rf"(?<![\w]){re.escape(name)}(?![\w])", n.text):
            assert inside(m.start(), m.end()), (name, n.marked())


@pytest.mark.parametrize("method", ["reg_b_mean", "reg_b_cutoff"])
def test_every_german_credit_narrative_is_grounded(method):
    df = load_german_credit()
    X = df.drop(columns="class")
    y = (df["class"] == "bad").astype(int).to_numpy()
    card = Scorecard().fit(X, y)
    cutoff = choose_cutoff(y, card.predict_proba(X)[:, 1])
    model = CreditModel.build(card, cutoff, X, categorical=[c for c in X.columns
                                                            if X[c].dtype.name == "category"],
                              meta={})
    X.index = np.arange(1, len(X) + 1)
    coder = ReasonCoder(model=model, method=method).fit(X)
    tables = credit_fact_tables(model, X, reasons=coder, top_n=8)
    assert len(tables) == 1000
    narrator = TemplateNarrator()
    names = set(X.columns) - set(GERMAN_PROTECTED)
    denied = 0
    for facts in tables.values():
        n = narrator.narrate(facts)
        assert_grounded(n, facts, names)
        assert check(n.text, facts, vocabulary=list(X.columns)).ok
        for protected in GERMAN_PROTECTED:  # never said, not even as a contribution
            assert protected not in n.text
        denied += facts.decision.value == "deny"
    assert 0 < denied < 1000
