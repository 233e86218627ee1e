"""The demo's periodic review and findings as data (``apps.demo.reviews`` writes them)."""

from __future__ import annotations

from dataclasses import dataclass

OVERDUE_REVIEW_MODEL = "payment-anomaly-prioritiser"
OVERDUE_REVIEW_SCOPE = (
    "Annual periodic review: performance against signed thresholds, drift of the payment mix "
    "since the last review, analyst override rates and the re-ranker's calibration."
)


@dataclass(frozen=True)
class DemoFinding:
    model: str
    title: str
    severity: str
    description: str
    owner: str
    due_in_days: int


FINDINGS = (
    DemoFinding(
        model="payment-anomaly-prioritiser",
        title="Re-ranker calibration not monitored",
        severity="high",
        description=(
            "The supervised re-ranker's calibration is checked only at training time; add a "
            "monthly calibration metric with a signed threshold."
        ),
        owner="model_owner",
        due_in_days=-9,
    ),
    DemoFinding(
        model="retail-credit-scoring",
        title="Reject inference undocumented",
        severity="medium",
        description=(
            "The treatment of rejected applicants in the training data is not described in the "
            "model documentation; document the reject-inference method and its assumptions."
        ),
        owner="model_owner",
        due_in_days=40,
    ),
    DemoFinding(
        model="failed-delivery-predictor",
        title="Segment performance for rural routes",
        severity="low",
        description=(
            "Recall on rural routes is not reported separately; add the segment to the weekly "
            "performance report."
        ),
        owner="model_owner2",
        due_in_days=75,
    ),
)
