"""The risk-tier questionnaire on its own (apps/inventory/risk.py): no database."""

from __future__ import annotations

import pytest

from apps.inventory import risk
from apps.inventory.choices import EUAIActClass

FACTORS = list(risk.FACTORS)


def answers(default: str = risk.LOW, **levels: str) -> dict[str, str]:
    return {name: levels.get(name, default) for name in FACTORS}


def test_the_questionnaire_covers_the_required_factors():
    assert set(FACTORS) == {
        "financial_exposure",
        "customer_impact",
        "regulatory_use",
        "automation",
        "complexity",
    }


@pytest.mark.parametrize(
    ("given", "tier", "points"),
    [
        (answers(), 3, 5),
        (answers(risk.MEDIUM, financial_exposure=risk.LOW, customer_impact=risk.LOW), 3, 8),
        (answers(risk.MEDIUM, financial_exposure=risk.LOW), 2, 9),
        (answers(customer_impact=risk.HIGH), 2, 7),
        (answers(customer_impact=risk.HIGH, automation=risk.HIGH), 1, 9),
        (answers(risk.MEDIUM, complexity=risk.HIGH, automation=risk.LOW), 2, 10),
        (answers(risk.MEDIUM, complexity=risk.HIGH, regulatory_use=risk.HIGH), 1, 12),
        (answers(risk.HIGH), 1, 15),
    ],
)
def test_it_suggests_a_tier_from_the_points(given, tier, points):
    suggestion = risk.suggest_tier(given, EUAIActClass.MINIMAL)
    assert (suggestion.tier, suggestion.points) == (tier, points)
    assert suggestion.rationale.startswith(f"Suggested Tier {tier}:")


def test_the_rationale_explains_every_answer():
    suggestion = risk.suggest_tier(answers(customer_impact=risk.HIGH), EUAIActClass.MINIMAL)
    for question, _levels in risk.FACTORS.values():
        assert question in suggestion.rationale
    assert "decides access, price or treatment of individuals" in suggestion.rationale
    assert "1 high-rated factor(s)" in suggestion.rationale


@pytest.mark.parametrize("eu_class", [EUAIActClass.HIGH_RISK, EUAIActClass.PROHIBITED])
def test_eu_high_risk_and_prohibited_always_suggest_tier_1(eu_class):
    suggestion = risk.suggest_tier(answers(), eu_class)
    assert suggestion.tier == 1
    assert suggestion.points == 5
    assert "always requires Tier 1" in suggestion.rationale


def test_it_names_missing_and_invalid_answers():
    given = answers()
    del given["automation"]
    given["complexity"] = "extreme"
    given["colour"] = "blue"
    with pytest.raises(risk.InvalidAnswers) as exc:
        risk.suggest_tier(given, EUAIActClass.MINIMAL)
    assert set(exc.value.field_errors) == {"automation", "complexity", "colour"}
    assert "choose low, medium or high" in exc.value.field_errors["automation"][0]
    assert exc.value.field_errors["colour"] == ["Unknown questionnaire factor."]


@pytest.mark.parametrize(
    ("tier", "eu_class", "refused"),
    [
        (1, EUAIActClass.HIGH_RISK, False),
        (2, EUAIActClass.HIGH_RISK, True),
        (3, EUAIActClass.HIGH_RISK, True),
        (2, EUAIActClass.PROHIBITED, True),
        (2, EUAIActClass.LIMITED, False),
        (3, EUAIActClass.MINIMAL, False),
    ],
)
def test_it_refuses_a_tier_the_eu_class_does_not_allow(tier, eu_class, refused):
    message = risk.check_tier_decision(tier=tier, eu_class=eu_class)
    assert bool(message) is refused
