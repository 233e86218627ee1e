"""The demo's monitoring as data: the metric definitions, the thresholds the owners propose
(and the revision left waiting), and the series of 90 days of metrics with their stories.

Pure data: ``apps.demo.monitoring`` writes it through the services.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from apps.monitoring.choices import MetricDirection

METRICS = (
    ("auc", "Area under the ROC curve on labelled outcomes.", "", MetricDirection.HIGHER_IS_BETTER),
    (
        "recall",
        "Share of actual positives the model catches.",
        "",
        MetricDirection.HIGHER_IS_BETTER,
    ),
    (
        "drift.psi.income",
        "Population stability index of declared income against the training data.",
        "PSI",
        MetricDirection.LOWER_IS_BETTER,
    ),
    ("latency.p95", "95th percentile of scoring latency.", "ms", MetricDirection.LOWER_IS_BETTER),
    (
        "precision",
        "Share of the cases the model flags that are actual positives.",
        "",
        MetricDirection.HIGHER_IS_BETTER,
    ),
    (
        "alert_rate",
        "Share of scored cases the model puts above the review cut-off.",
        "",
        MetricDirection.LOWER_IS_BETTER,
    ),
    (
        "value_vs_cost",
        "Attributed monthly gross margin divided by the service's running cost.",
        "ratio",
        MetricDirection.HIGHER_IS_BETTER,
    ),
    ("ctr", "Click-through rate of the recommended items.", "", MetricDirection.HIGHER_IS_BETTER),
    (
        "mae",
        "Mean absolute error of the forecast.",
        "min",
        MetricDirection.LOWER_IS_BETTER,
    ),
    (
        "interval_coverage",
        "Share of actual values inside the forecast's 80% interval.",
        "",
        MetricDirection.HIGHER_IS_BETTER,
    ),
    (
        "acceptance_rate",
        "Share of drafted replies agents send with at most minor edits.",
        "",
        MetricDirection.HIGHER_IS_BETTER,
    ),
    (
        "wape",
        "Weighted absolute percentage error of the demand forecast.",
        "%",
        MetricDirection.LOWER_IS_BETTER,
    ),
    (
        "field_accuracy",
        "Share of extracted document fields that match the labels.",
        "",
        MetricDirection.HIGHER_IS_BETTER,
    ),
)


@dataclass(frozen=True)
class DemoThreshold:
    model: str
    metric: str
    warning: float
    critical: float
    rationale: str
    evaluation: str = "latest"
    window_days: int | None = None
    min_samples: int = 1
    segment: str = ""
    version: str = ""


ACTIVE = (
    DemoThreshold(
        "retail-credit-scoring",
        "auc",
        0.74,
        0.70,
        "Below 0.70 the scorecard no longer separates good from bad payers well enough for "
        "the approved cut-offs; 0.74 leaves a month to retrain.",
        evaluation="mean",
        window_days=7,
        min_samples=20,
    ),
    DemoThreshold(
        "retail-credit-scoring",
        "drift.psi.income",
        0.10,
        0.25,
        "PSI above 0.25 is the bank's standard signal of a material population shift.",
    ),
    DemoThreshold(
        "failed-delivery-predictor",
        "recall",
        0.80,
        0.72,
        "Dispatch planning assumes at least 72% of failed deliveries are flagged in advance.",
        evaluation="min",
        window_days=3,
        min_samples=8,
    ),
    DemoThreshold(
        "payment-anomaly-prioritiser",
        "latency.p95",
        250,
        400,
        "Reviewers' queue refresh budget is 400 ms per payment.",
    ),
    DemoThreshold(
        "payment-anomaly-prioritiser",
        "alert_rate",
        0.015,
        0.02,
        "The payments control team reviews about 2,000 payments a day, 1.5% of the flow; "
        "above 2% the queue is not cleared before the payment cut-off.",
        evaluation="mean",
        window_days=7,
        min_samples=20,
        version="1.0.0",
    ),
    DemoThreshold(
        "product-recommendations",
        "value_vs_cost",
        1.5,
        1.0,
        "The service must earn at least its running cost (1.0); below 1.5 the product "
        "committee reviews whether it is worth its infrastructure.",
        evaluation="latest",
    ),
)
# The revision waiting for the business owner: tighter AUC bounds on the credit model.
PENDING_REVISION = ("retail-credit-scoring", "auc", 0.76, 0.72)


# --- metric stories -------------------------------------------------------------------------
#
# 90 days of observations for every model version in use, loaded like pushed metrics
# (weekly batches, each evaluated against the signed thresholds, so states, breaches and
# incidents come from the real evaluation), plus three stories:
#
# - failed-delivery-predictor: an upstream system started sending full postcodes instead of
#   postcode districts 20 days ago; recall falls, its signed threshold goes critical and the
#   evaluation opens an incident; weekly drift runs show the postcode column drifting.
# - payment-anomaly-prioritiser: a retrained candidate (1.1.0) scored in shadow mode flags
#   twice as many payments; its promotion is rejected by the business owner.
# - product-recommendations: a monthly value-versus-cost metric.

DAYS = 90
RNG_SEED = 20260401
BATCH_DAYS = 7
POSTCODE_CHANGE_DAYS_AGO = 20
CANDIDATE = ("payment-anomaly-prioritiser", "1.1.0")
CANDIDATE_SHADOW_DAYS = 30
REJECTION_COMMENT = (
    "Rejected: in {days} days of shadow scoring 1.1.0 flagged {new:.1%} of payments against "
    "{old:.1%} for 1.0.0 in production, twice the alerts, beyond the team's review capacity "
    "of about 2,000 payments a day (the signed alert-rate threshold is 2%). Recalibrate the "
    "re-ranker's cut-off to the current alert rate and resubmit."
)


@dataclass(frozen=True)
class DemoSeries:
    """How one demo series is generated: a level with noise, one value every ``hours``
    over the last ``days`` days, optionally shifting to ``shift_to`` from ``shift_days_ago``
    over ``ramp_days``, or one value a month (``monthly``) for a year."""

    model: str
    version: str
    metric: str
    level: float
    noise: float
    hours: int = 24
    days: int = DAYS
    shift_days_ago: float | None = None
    shift_to: float = 0.0
    ramp_days: float = 1.0
    monthly: bool = False
    low: float = 0.0
    high: float = math.inf
    decimals: int = 4


SERIES = (
    DemoSeries("retail-credit-scoring", "2.4.0", "auc", 0.79, 0.006, hours=6),
    DemoSeries("retail-credit-scoring", "2.5.0-rc1", "auc", 0.805, 0.006, hours=6, days=12),
    DemoSeries("retail-credit-scoring", "2.4.0", "drift.psi.income", 0.05, 0.012, low=0.001),
    DemoSeries(
        "failed-delivery-predictor",
        "1.1.0",
        "recall",
        0.84,
        0.012,
        hours=6,
        shift_days_ago=POSTCODE_CHANGE_DAYS_AGO,
        shift_to=0.66,
        ramp_days=5,
        high=1.0,
    ),
    DemoSeries(
        "failed-delivery-predictor",
        "1.1.0",
        "precision",
        0.49,
        0.01,
        hours=6,
        shift_days_ago=POSTCODE_CHANGE_DAYS_AGO,
        shift_to=0.43,
        ramp_days=5,
        high=1.0,
    ),
    DemoSeries("payment-anomaly-prioritiser", "1.0.0", "alert_rate", 0.011, 0.0012, hours=6),
    DemoSeries(
        "payment-anomaly-prioritiser",
        "1.1.0",
        "alert_rate",
        0.023,
        0.0018,
        hours=6,
        days=CANDIDATE_SHADOW_DAYS,
    ),
    DemoSeries("payment-anomaly-prioritiser", "1.0.0", "latency.p95", 180, 18, hours=6, decimals=1),
    DemoSeries("product-recommendations", "4.0.0", "ctr", 0.041, 0.002),
    DemoSeries("product-recommendations", "4.0.0", "latency.p95", 62, 6, decimals=1),
    DemoSeries("product-recommendations", "4.0.0", "value_vs_cost", 2.4, 0.25, monthly=True),
    DemoSeries("delivery-eta-forecaster", "2.1.0", "mae", 11.5, 0.9, decimals=2),
    DemoSeries("delivery-eta-forecaster", "2.1.0", "interval_coverage", 0.81, 0.015, high=1.0),
    DemoSeries("support-reply-assistant", "2025.05", "acceptance_rate", 0.62, 0.03, high=1.0),
    DemoSeries("warehouse-demand-forecast", "0.4.0", "wape", 18.0, 1.2, decimals=2),
    DemoSeries("customer-churn-propensity", "1.0.0", "auc", 0.74, 0.008, high=1.0),
    DemoSeries("income-document-ocr", "2025.03", "field_accuracy", 0.93, 0.01, high=1.0),
    DemoSeries("invoice-matching-classifier", "0.1.0", "precision", 0.88, 0.015, high=1.0),
)
