"""Risk-tier questionnaire: answers in, suggested tier and written rationale out. Pure.

Each factor is answered low / medium / high (1–3 points). The EU AI Act class overrides:
high-risk (Annex III) and prohibited practices are always Tier 1.
"""

from __future__ import annotations

from dataclasses import dataclass

from apps.inventory.choices import EUAIActClass, LifecycleStatus

LOW, MEDIUM, HIGH = "low", "medium", "high"
LEVEL_POINTS = {LOW: 1, MEDIUM: 2, HIGH: 3}

# factor -> (question, {level: meaning})
FACTORS: dict[str, tuple[str, dict[str, str]]] = {
    "financial_exposure": (
        "Financial exposure if the model is wrong",
        {
            LOW: "under 100k a year",
            MEDIUM: "100k to 10M a year",
            HIGH: "over 10M a year or material to the accounts",
        },
    ),
    "customer_impact": (
        "Impact on customers or other people",
        {
            LOW: "no direct effect on individuals",
            MEDIUM: "affects service quality or convenience for individuals",
            HIGH: "decides access, price or treatment of individuals",
        },
    ),
    "regulatory_use": (
        "Regulatory use",
        {
            LOW: "no regulatory use",
            MEDIUM: "informs regulated processes",
            HIGH: "used for regulatory reporting, capital or legally significant decisions",
        },
    ),
    "automation": (
        "Degree of automation / human oversight",
        {
            LOW: "advises a human who decides",
            MEDIUM: "decides, with human review of cases",
            HIGH: "decides automatically without human review",
        },
    ),
    "complexity": (
        "Complexity and explainability",
        {
            LOW: "simple, fully interpretable (rules, scorecard, linear)",
            MEDIUM: "moderately complex, explainable with standard tools",
            HIGH: "complex or opaque (deep learning, large ensembles, vendor black box)",
        },
    ),
}

TIER_1_POINTS = 12
TIER_2_POINTS = 9


@dataclass(frozen=True)
class TierSuggestion:
    tier: int
    points: int
    rationale: str


class InvalidAnswers(ValueError):
    """Answers are missing or not one of low / medium / high; ``field_errors`` says which."""

    def __init__(self, field_errors: dict[str, list[str]]):
        super().__init__("; ".join(f"{k}: {', '.join(v)}" for k, v in field_errors.items()))
        self.field_errors = field_errors


def validate_answers(answers: dict[str, str]) -> None:
    errors: dict[str, list[str]] = {}
    for name, (question, _levels) in FACTORS.items():
        value = answers.get(name)
        if value not in LEVEL_POINTS:
            errors[name] = [f"{question}: choose low, medium or high."]
    unknown = set(answers) - set(FACTORS)
    for name in sorted(unknown):
        errors[name] = ["Unknown questionnaire factor."]
    if errors:
        raise InvalidAnswers(errors)


def suggest_tier(answers: dict[str, str], eu_class: str) -> TierSuggestion:
    """Suggested tier with a rationale a validator can read and confirm or override."""
    validate_answers(answers)
    points = sum(LEVEL_POINTS[answers[name]] for name in FACTORS)
    highs = [FACTORS[name][0] for name in FACTORS if answers[name] == HIGH]
    lines = [
        f"- {question}: {answers[name]} ({levels[answers[name]]})"
        for name, (question, levels) in FACTORS.items()
    ]
    if eu_class in (EUAIActClass.HIGH_RISK, EUAIActClass.PROHIBITED):
        tier = 1
        why = (
            "EU AI Act class is "
            + ("a prohibited practice" if eu_class == EUAIActClass.PROHIBITED else "high-risk")
            + ", which always requires Tier 1."
        )
    elif len(highs) >= 2 or points >= TIER_1_POINTS:
        tier = 1
        why = (
            f"{len(highs)} high-rated factor(s) and {points} of 15 points "
            f"(Tier 1 from 2 highs or {TIER_1_POINTS} points)."
        )
    elif highs or points >= TIER_2_POINTS:
        tier = 2
        why = (
            f"{len(highs)} high-rated factor(s) and {points} of 15 points "
            f"(Tier 2 from 1 high or {TIER_2_POINTS} points)."
        )
    else:
        tier = 3
        why = f"No high-rated factor and {points} of 15 points."
    rationale = f"Suggested Tier {tier}: {why}\n" + "\n".join(lines)
    return TierSuggestion(tier=tier, points=points, rationale=rationale)


def check_tier_decision(*, tier: int, eu_class: str) -> str | None:
    """Message refusing a tier the EU class does not allow, else None."""
    if eu_class in (EUAIActClass.HIGH_RISK, EUAIActClass.PROHIBITED) and tier != 1:
        return "EU AI Act high-risk and prohibited models must be Tier 1."
    return None


def proposal_refusal(*, assessment, model) -> str | None:
    """Why the proposed tier/class cannot be applied to the model as it is now, or None."""
    refusal = check_tier_decision(tier=assessment.decided_tier, eu_class=assessment.eu_ai_act_class)
    if refusal:
        return refusal
    if assessment.eu_ai_act_class == EUAIActClass.PROHIBITED and model.status in (
        LifecycleStatus.APPROVED,
        LifecycleStatus.PRODUCTION,
    ):
        return "The model is approved or in production; retire it before classing it as prohibited."
    return None
