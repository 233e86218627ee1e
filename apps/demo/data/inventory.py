"""The demo inventory as data: datasets, twelve models (fields, risk answers, versions,
deployments, the state each reaches), the feeds between them and the requests left open.

Pure data: ``apps.demo.inventory`` writes it through the services.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from apps.approvals.choices import ApprovalKind, ApproverRole
from apps.inventory.choices import (
    DeploymentEnvironment,
    EUAIActClass,
    LifecycleStatus,
    ModelType,
    Origin,
    VersionStage,
)

# --- datasets ------------------------------------------------------------------------------

DATASETS: tuple[dict[str, Any], ...] = (
    {
        "slug": "credit-applications-2019-2024",
        "owner": "model_owner",
        "name": "Retail credit applications and outcomes",
        "version": "2024-12",
        "uri": "s3://lending-data/curated/credit_applications/2024-12/",
        "contains_personal_data": True,
        "description": "Unsecured personal-loan and card applications with 12-month outcomes.",
        "motivation": (
            "Built to develop and monitor application scorecards for unsecured lending, "
            "with a 12-month default outcome for every booked application."
        ),
        "composition": (
            "1.84 million applications from January 2019 to December 2023 (outcomes observed "
            "to December 2024): applicant-declared income and employment, product, amount, "
            "term, bureau attributes at application, decision and 90-days-past-due flag."
        ),
        "collection_process": (
            "Extracted monthly from the loan-origination system and joined to the servicing "
            "ledger by application id. Bureau attributes are the snapshot used at decision time."
        ),
        "preprocessing": (
            "Direct identifiers removed and replaced by a keyed pseudonym; incomes winsorised at "
            "the 99.5th percentile; declined applications carry reject-inference weights."
        ),
        "known_gaps": (
            "Outcomes exist only for approved applications (selection bias, partly addressed by "
            "reject inference). Thin-file applicants and those under 21 are under-represented; "
            "the 2020 payment-holiday period distorts arrears behaviour."
        ),
    },
    {
        "slug": "credit-holdout-2024h2",
        "owner": "model_owner",
        "name": "Credit scoring out-of-time holdout",
        "version": "2024-H2",
        "uri": "s3://lending-data/curated/credit_holdout/2024h2/",
        "contains_personal_data": True,
        "description": "Out-of-time sample used only for evaluation, never for training.",
        "motivation": "Independent evaluation of scorecard discrimination and calibration.",
        "composition": (
            "212,000 applications from the second half of 2024 with 6-month early-default "
            "outcomes, stratified by product and channel."
        ),
        "collection_process": "Same extraction as the development sample, later time window.",
        "preprocessing": "Identical pipeline to the development sample, frozen at extraction.",
        "known_gaps": "Six-month outcome window only; long-horizon performance is projected.",
    },
    {
        "slug": "payslip-images-labelled",
        "owner": "model_owner",
        "name": "Labelled payslip and bank-statement images",
        "version": "v3",
        "uri": "s3://lending-data/documents/labelled/v3/",
        "contains_personal_data": True,
        "description": "Document images with hand-labelled income fields, for OCR evaluation.",
        "motivation": "Measure extraction accuracy of the vendor OCR service on our documents.",
        "composition": "14,500 documents from 2023-2024 applications, 41 employer layouts.",
        "collection_process": "Sampled from applications whose applicants consented to reuse.",
        "preprocessing": "Faces and account numbers masked before labelling.",
        "known_gaps": "Few handwritten or photographed documents; self-employed income sparse.",
    },
    {
        "slug": "payment-transactions-2024",
        "owner": "model_owner",
        "name": "Outgoing supplier and customer-refund payments",
        "version": "2024-12",
        "uri": "s3://finance-data/curated/payments/2024/",
        "contains_personal_data": True,
        "description": "Outgoing payments with beneficiary, channel and approval metadata.",
        "motivation": "Train the anomaly prioritiser that orders the payment review queue.",
        "composition": (
            "9.6 million outgoing payments in 2024: amount, currency, beneficiary account age, "
            "channel, approver, time of day, and whether the payment was later recalled."
        ),
        "collection_process": "Daily extract from the payments hub, joined to recall records.",
        "preprocessing": "Beneficiary names hashed; amounts converted to EUR at booking rate.",
        "known_gaps": (
            "Confirmed fraud labels are rare (about 1 in 40,000) and lag by up to 60 days."
        ),
    },
    {
        "slug": "analyst-review-outcomes-2024",
        "owner": "model_owner",
        "name": "Payment review outcomes",
        "version": "2024-12",
        "uri": "s3://finance-data/curated/review_outcomes/2024/",
        "contains_personal_data": True,
        "description": "Analyst dispositions of reviewed payments (released, held, recalled).",
        "motivation": "Evaluate whether the prioritiser puts genuinely risky payments first.",
        "composition": "188,000 reviewed payments with disposition and time to decision.",
        "collection_process": "Exported from the case-management tool, one row per case.",
        "preprocessing": "Analyst identifiers pseudonymised; free-text notes removed.",
        "known_gaps": "Only payments that were reviewed have outcomes (selection bias).",
    },
    {
        "slug": "delivery-events-2023-2025",
        "owner": "model_owner2",
        "name": "Parcel delivery attempts and outcomes",
        "version": "2025-03",
        "uri": "s3://logistics-data/curated/delivery_events/2025-03/",
        "contains_personal_data": True,
        "description": "Delivery attempts with route, carrier, slot and first-attempt outcome.",
        "motivation": "Predict and prevent failed first delivery attempts.",
        "composition": (
            "27 million delivery attempts, April 2023 to March 2025: postcode district, "
            "address type, slot, carrier, parcel size, weather summary and outcome."
        ),
        "collection_process": "Carrier scan events streamed into the logistics warehouse.",
        "preprocessing": (
            "Addresses reduced to postcode district and address type; recipient names dropped."
        ),
        "known_gaps": "Rural districts and the two newest carriers have sparse history.",
    },
    {
        "slug": "carrier-scan-feed",
        "owner": "model_owner2",
        "name": "Carrier hub scan feed (aggregated)",
        "version": "2025-03",
        "uri": "s3://logistics-data/curated/hub_scans/2025-03/",
        "contains_personal_data": False,
        "description": "Hourly parcel volumes and dwell times per hub and carrier.",
        "motivation": "Inputs for ETA forecasting and capacity planning.",
        "composition": "Hourly aggregates for 64 hubs and 9 carriers, 2022 to 2025.",
        "collection_process": "Aggregated from carrier EDI scan messages.",
        "preprocessing": "Aggregated to hub-hour; no parcel-level data retained.",
        "known_gaps": "Two carriers report with a 6-hour delay during peak season.",
    },
    {
        "slug": "warehouse-orders-2021-2025",
        "owner": "model_owner2",
        "name": "Warehouse order lines by SKU and day",
        "version": "2025-02",
        "uri": "s3://logistics-data/curated/warehouse_orders/2025-02/",
        "contains_personal_data": False,
        "description": "Daily order quantities per SKU and fulfilment centre.",
        "motivation": "Forecast picking demand to plan staffing and replenishment.",
        "composition": "4 years of daily quantities for 38,000 SKUs in 5 fulfilment centres.",
        "collection_process": "Nightly extract from the warehouse management system.",
        "preprocessing": "Promotional days flagged; stock-out days marked as censored demand.",
        "known_gaps": "Demand during stock-outs is unobserved; new SKUs have no history.",
    },
    {
        "slug": "product-interactions-90d",
        "owner": "model_owner2",
        "name": "In-app product interactions (rolling 90 days)",
        "version": "2025-06-01",
        "uri": "s3://product-data/curated/interactions/2025-06-01/",
        "contains_personal_data": True,
        "description": "Views, add-to-basket and purchases per pseudonymous customer.",
        "motivation": "Train and evaluate the recommendation service.",
        "composition": "410 million interaction events from 6.2 million active customers.",
        "collection_process": "Client analytics events, only for customers who consented.",
        "preprocessing": "Bots filtered; customer ids pseudonymised; 90-day retention.",
        "known_gaps": "Customers who declined analytics consent are absent.",
    },
    {
        "slug": "product-catalogue-2025-06",
        "owner": "model_owner2",
        "name": "Product catalogue snapshot",
        "version": "2025-06-01",
        "uri": "s3://product-data/catalogue/2025-06-01.parquet",
        "contains_personal_data": False,
        "description": "Product attributes and categories used for content-based features.",
        "motivation": "Cold-start features for new products in recommendations.",
        "composition": "118,000 active products with category tree and attributes.",
        "collection_process": "Exported from the product information management system.",
        "preprocessing": "Attributes normalised; discontinued products removed.",
        "known_gaps": "Attributes for marketplace sellers' products are often incomplete.",
    },
    {
        "slug": "support-tickets-2024-redacted",
        "owner": "model_owner2",
        "name": "Customer support conversations (redacted)",
        "version": "2024-12",
        "uri": "s3://service-data/curated/tickets_redacted/2024-12/",
        "contains_personal_data": True,
        "description": "Resolved support conversations with agent replies and satisfaction.",
        "motivation": "Ground and evaluate the reply-drafting assistant.",
        "composition": "620,000 resolved conversations in English and German, 2024.",
        "collection_process": "Exported from the helpdesk with the privacy office's approval.",
        "preprocessing": "Names, addresses, card and account numbers redacted automatically.",
        "known_gaps": "Redaction recall is about 99.2%; rare languages are excluded.",
    },
    {
        "slug": "customer-activity-monthly",
        "owner": "model_owner2",
        "name": "Monthly customer activity summary",
        "version": "2025-05",
        "uri": "s3://marketing-data/curated/activity_monthly/2025-05/",
        "contains_personal_data": True,
        "description": "One row per customer and month: orders, sessions, tenure, contacts.",
        "motivation": "Estimate churn propensity for retention campaigns.",
        "composition": "36 months of history for 7.9 million customers.",
        "collection_process": "Monthly aggregation in the customer data platform.",
        "preprocessing": "Customer ids pseudonymised; opted-out customers removed.",
        "known_gaps": "Offline purchases are not captured.",
    },
)


# --- models --------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoVersion:
    version: str
    stage: str
    description: str
    training: tuple[str, ...] = ()
    evaluation: tuple[str, ...] = ()
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DemoRisk:
    """Questionnaire answers and the validator's call: confirm, override (with reason) or
    leave pending."""

    answers: dict[str, str]
    eu_class: str
    annex_point: str = ""
    decision: str = "confirm"  # confirm | override | pending
    override_tier: int | None = None
    reason: str = ""


@dataclass(frozen=True)
class DemoDeployment:
    version: str
    environment: str
    endpoint: str
    consumers: str
    days_ago: int


@dataclass(frozen=True)
class DemoModel:
    slug: str
    fields: dict[str, Any]
    owner: str
    business_owner: str
    status: str
    developers: tuple[str, ...] = ()
    review_in_days: int | None = None
    risk: DemoRisk | None = None
    versions: tuple[DemoVersion, ...] = ()
    deployments: tuple[DemoDeployment, ...] = ()
    retirement_reason: str = ""


def _answers(fin: str, cust: str, reg: str, auto: str, cplx: str) -> dict[str, str]:
    return {
        "financial_exposure": fin,
        "customer_impact": cust,
        "regulatory_use": reg,
        "automation": auto,
        "complexity": cplx,
    }


MODELS: tuple[DemoModel, ...] = (
    DemoModel(
        slug="retail-credit-scoring",
        owner="model_owner",
        business_owner="business_owner",
        developers=("model_owner2",),
        status=LifecycleStatus.PRODUCTION,
        review_in_days=21,
        fields={
            "name": "Retail credit scoring",
            "business_unit": "consumer-lending",
            "model_type": ModelType.CLASSIFICATION,
            "algorithm": "Gradient-boosted trees (LightGBM) with monotonic constraints",
            "description": (
                "Application scorecard estimating the probability that a new unsecured "
                "personal-loan or credit-card customer reaches 90 days past due within 12 months."
            ),
            "purpose": (
                "Score applications for unsecured personal loans and credit cards so that "
                "underwriting can approve, refer or decline them and set the credit limit within "
                "the approved credit policy."
            ),
            "out_of_scope_uses": (
                "Mortgages, business lending and collections decisions; pricing of insurance; "
                "any use on applicants under 18 or outside the EU markets it was developed for."
            ),
            "intended_users": "Underwriting decision engine and credit underwriters (referrals).",
            "inputs": (
                "Declared income and employment, requested amount and term, credit bureau "
                "attributes, existing relationship with the bank."
            ),
            "outputs": "Probability of default (12 months) and a 300-850 score band with reasons.",
            "downstream_consumers": (
                "Loan-origination decision engine; limit-assignment rules; credit risk reporting."
            ),
            "limitations": (
                "Discrimination is weaker for thin-file applicants (Gini 0.41 versus 0.62 "
                "overall). Calibration drifts when unemployment moves sharply; recalibrated "
                "quarterly."
            ),
            "assumptions": (
                "The through-the-door population resembles 2019-2023 applications; bureau data "
                "is current at decision time."
            ),
            "ethical_considerations": (
                "Protected characteristics are not inputs; proxies (postcode, age of account) "
                "were tested and disparate impact ratios stay above 0.8 for sex and age bands. "
                "Declined applicants receive the main reasons and may ask for human review."
            ),
            "explainability": (
                "SHAP-based reason codes (top four) are returned with every score and mapped to "
                "plain-language adverse-action reasons."
            ),
            "human_oversight_contact": "Credit Risk Underwriting duty manager, ext. 4410",
        },
        risk=DemoRisk(
            _answers("high", "high", "high", "medium", "medium"),
            EUAIActClass.HIGH_RISK,
            annex_point="5(b)",
            reason="Confirmed: creditworthiness of natural persons, Annex III point 5(b).",
        ),
        versions=(
            DemoVersion(
                "2.3.0",
                VersionStage.ARCHIVED,
                "Annual redevelopment on 2018-2022 applications.",
                training=("credit-applications-2019-2024",),
                evaluation=("credit-holdout-2024h2",),
                hyperparameters={"num_leaves": 31, "learning_rate": 0.05, "n_estimators": 600},
                metrics={"gini": 0.6, "ks": 0.45, "brier": 0.051},
            ),
            DemoVersion(
                "2.4.0",
                VersionStage.PRODUCTION,
                "Adds open-banking affordability features; recalibrated to 2024 default rates.",
                training=("credit-applications-2019-2024",),
                evaluation=("credit-holdout-2024h2",),
                hyperparameters={"num_leaves": 31, "learning_rate": 0.04, "n_estimators": 850},
                metrics={"gini": 0.62, "ks": 0.47, "brier": 0.048, "auc": 0.81},
            ),
            DemoVersion(
                "2.5.0-rc1",
                VersionStage.STAGING,
                "Candidate with refreshed bureau attributes, running in shadow mode.",
                training=("credit-applications-2019-2024",),
                evaluation=("credit-holdout-2024h2",),
                hyperparameters={"num_leaves": 48, "learning_rate": 0.03, "n_estimators": 1100},
                metrics={"gini": 0.63, "ks": 0.48, "brier": 0.047, "auc": 0.815},
            ),
        ),
        deployments=(
            DemoDeployment(
                "2.4.0",
                DeploymentEnvironment.PRODUCTION,
                "https://scoring.internal.example/credit/v2",
                "Loan-origination decision engine; underwriter workbench",
                94,
            ),
            DemoDeployment(
                "2.5.0-rc1",
                DeploymentEnvironment.SHADOW,
                "https://scoring.internal.example/credit/shadow",
                "Shadow comparison reports for Credit Risk",
                12,
            ),
        ),
    ),
    DemoModel(
        slug="failed-delivery-predictor",
        owner="model_owner2",
        business_owner="business_owner2",
        status=LifecycleStatus.PRODUCTION,
        review_in_days=140,
        fields={
            "name": "Failed-delivery predictor",
            "business_unit": "logistics",
            "model_type": ModelType.CLASSIFICATION,
            "algorithm": "Gradient-boosted trees (XGBoost)",
            "description": (
                "Estimates, the evening before dispatch, the probability that a parcel's first "
                "delivery attempt will fail."
            ),
            "purpose": (
                "Flag parcels at high risk of a failed first attempt so that the dispatch team "
                "can offer the recipient a different slot or a pick-up point before the van "
                "leaves."
            ),
            "out_of_scope_uses": (
                "Judging individual couriers' performance; refusing or surcharging deliveries to "
                "particular addresses or neighbourhoods."
            ),
            "intended_users": "Dispatch planners and the customer-notification service.",
            "inputs": (
                "Postcode district, address type, delivery slot, carrier, parcel size, past "
                "attempts to the address, weather forecast, predicted ETA."
            ),
            "outputs": "Failure probability per parcel and a top-3 reason list.",
            "downstream_consumers": "Customer notification service; dispatch planning board.",
            "limitations": (
                "Less accurate for rural districts and new carriers; does not know about road "
                "closures announced on the day."
            ),
            "assumptions": "Carrier scan events arrive within two hours.",
            "ethical_considerations": (
                "Predictions must not lead to worse service for any area: the business rule only "
                "adds options for the recipient and never removes a delivery slot."
            ),
            "explainability": "Per-parcel SHAP reasons shown on the dispatch board.",
            "human_oversight_contact": "Dispatch operations lead, logistics-ops@example.com",
        },
        risk=DemoRisk(
            _answers("medium", "medium", "low", "medium", "medium"), EUAIActClass.MINIMAL
        ),
        versions=(
            DemoVersion(
                "1.0.0",
                VersionStage.ARCHIVED,
                "First release on 2023-2024 attempts.",
                training=("delivery-events-2023-2025",),
                hyperparameters={"max_depth": 6, "eta": 0.1, "n_estimators": 400},
                metrics={"auc": 0.78, "precision_at_10pct": 0.41},
            ),
            DemoVersion(
                "1.1.0",
                VersionStage.PRODUCTION,
                "Adds predicted ETA from the ETA forecaster and weather features.",
                training=("delivery-events-2023-2025", "carrier-scan-feed"),
                evaluation=("delivery-events-2023-2025",),
                hyperparameters={"max_depth": 7, "eta": 0.08, "n_estimators": 650},
                metrics={"auc": 0.83, "precision_at_10pct": 0.49, "recall_at_10pct": 0.37},
            ),
        ),
        deployments=(
            DemoDeployment(
                "1.1.0",
                DeploymentEnvironment.PRODUCTION,
                "https://ml.logistics.internal.example/failed-delivery/v1",
                "Customer notification service; dispatch planning board",
                61,
            ),
        ),
    ),
    DemoModel(
        slug="payment-anomaly-prioritiser",
        owner="model_owner",
        business_owner="business_owner",
        status=LifecycleStatus.PRODUCTION,
        review_in_days=-12,
        fields={
            "name": "Payment anomaly prioritiser",
            "business_unit": "finance-operations",
            "model_type": ModelType.ANOMALY,
            "algorithm": "Isolation forest with a supervised re-ranker (logistic regression)",
            "description": (
                "Orders the queue of outgoing payments awaiting review so that analysts see the "
                "most anomalous ones first."
            ),
            "purpose": (
                "Prioritise outgoing supplier payments and customer refunds for human review by "
                "the payments control team. The model never blocks or releases a payment; an "
                "analyst decides every case."
            ),
            "out_of_scope_uses": (
                "Automatic blocking of payments; assessing customers' or employees' honesty; "
                "anti-money-laundering transaction monitoring (covered by a separate system)."
            ),
            "intended_users": "Payments control analysts in Finance Operations.",
            "inputs": (
                "Amount, currency, beneficiary account age and history, approver, channel, "
                "time of day, changes to beneficiary bank details."
            ),
            "outputs": "Anomaly score 0-100 and the features that contributed most.",
            "downstream_consumers": "Payment review queue in the case-management tool.",
            "limitations": (
                "Few confirmed fraud labels; novel fraud patterns may score low. Scores are "
                "comparable only within a day's queue."
            ),
            "assumptions": "Review capacity is about 2,000 payments a day.",
            "ethical_considerations": (
                "Analysts see the reasons for a score and must record their own rationale; "
                "queue ordering is audited monthly for concentration on particular suppliers."
            ),
            "explainability": "Feature contributions of the re-ranker shown with each case.",
            "human_oversight_contact": "Payments control team leader, ext. 2270",
        },
        risk=DemoRisk(
            _answers("high", "low", "medium", "low", "medium"),
            EUAIActClass.MINIMAL,
            decision="override",
            override_tier=1,
            reason=(
                "Raised to Tier 1: the queue controls about 40M EUR of payments a day and a "
                "miss exposes the bank to fraud losses reportable to the regulator."
            ),
        ),
        versions=(
            DemoVersion(
                "0.9.0",
                VersionStage.ARCHIVED,
                "Unsupervised isolation forest only.",
                training=("payment-transactions-2024",),
                hyperparameters={"n_estimators": 300, "contamination": 0.001},
                metrics={"precision_at_200": 0.08},
            ),
            DemoVersion(
                "1.0.0",
                VersionStage.PRODUCTION,
                "Adds the supervised re-ranker trained on analyst outcomes.",
                training=("payment-transactions-2024", "analyst-review-outcomes-2024"),
                evaluation=("analyst-review-outcomes-2024",),
                hyperparameters={"n_estimators": 300, "C": 0.5, "class_weight": "balanced"},
                metrics={"precision_at_200": 0.21, "recall_at_2000": 0.74},
            ),
        ),
        deployments=(
            DemoDeployment(
                "1.0.0",
                DeploymentEnvironment.PRODUCTION,
                "https://ml.finance.internal.example/payment-anomaly/v1",
                "Payment review queue (case management)",
                203,
            ),
        ),
    ),
    DemoModel(
        slug="product-recommendations",
        owner="model_owner2",
        business_owner="business_owner2",
        status=LifecycleStatus.PRODUCTION,
        review_in_days=75,
        fields={
            "name": "Product recommendation service",
            "business_unit": "software-product",
            "model_type": ModelType.RANKING,
            "algorithm": "Two-tower retrieval with a gradient-boosted re-ranker",
            "description": "Personalised 'recommended for you' and 'often bought with' rails.",
            "purpose": (
                "Rank products for the home page, product pages and basket in the web shop and "
                "app, to help customers find relevant products."
            ),
            "out_of_scope_uses": (
                "Credit, insurance or other financial products; pricing; targeting of minors."
            ),
            "intended_users": "Web shop and mobile app (automated); merchandising team.",
            "inputs": "Consented interaction history, product catalogue attributes, context.",
            "outputs": "Ranked list of up to 50 product ids per request.",
            "downstream_consumers": "Web shop, mobile app, weekly recommendation e-mail.",
            "limitations": (
                "Popularity bias: long-tail products are under-exposed. Cold-start customers "
                "receive category best-sellers."
            ),
            "assumptions": "Interaction data is at most 24 hours old.",
            "ethical_considerations": (
                "No sensitive categories are inferred; customers can switch personalisation off "
                "in their privacy settings."
            ),
            "explainability": "'Because you viewed ...' explanations from the retrieval stage.",
            "human_oversight_contact": "Product analytics on-call, product-ml@example.com",
        },
        risk=DemoRisk(_answers("medium", "medium", "low", "high", "medium"), EUAIActClass.MINIMAL),
        versions=(
            DemoVersion(
                "3.2.0",
                VersionStage.ARCHIVED,
                "Matrix factorisation baseline.",
                training=("product-interactions-90d",),
                hyperparameters={"factors": 128, "regularisation": 0.01},
                metrics={"ndcg_at_10": 0.27, "coverage": 0.31},
            ),
            DemoVersion(
                "4.0.0",
                VersionStage.PRODUCTION,
                "Two-tower retrieval with catalogue features for cold start.",
                training=("product-interactions-90d", "product-catalogue-2025-06"),
                evaluation=("product-interactions-90d",),
                hyperparameters={"embedding_dim": 256, "epochs": 12, "reranker_depth": 6},
                metrics={"ndcg_at_10": 0.34, "coverage": 0.46, "ctr_uplift_ab": 0.061},
            ),
        ),
        deployments=(
            DemoDeployment(
                "4.0.0",
                DeploymentEnvironment.PRODUCTION,
                "https://recs.internal.example/v4",
                "Web shop, mobile app, recommendation e-mail",
                33,
            ),
        ),
    ),
    DemoModel(
        slug="delivery-eta-forecaster",
        owner="model_owner2",
        business_owner="business_owner2",
        status=LifecycleStatus.PRODUCTION,
        review_in_days=190,
        fields={
            "name": "Delivery ETA forecaster",
            "business_unit": "logistics",
            "model_type": ModelType.FORECASTING,
            "algorithm": "Quantile gradient boosting",
            "description": "Forecasts parcel arrival time windows per route stop.",
            "purpose": "Give recipients a two-hour arrival window and feed delivery planning.",
            "out_of_scope_uses": "Courier performance management.",
            "intended_users": "Customer notification service; failed-delivery predictor.",
            "inputs": "Route plan, hub dwell times, traffic and weather, stop history.",
            "outputs": "Median ETA with 10th and 90th percentile bounds.",
            "downstream_consumers": "Failed-delivery predictor; recipient tracking page.",
            "limitations": "Intervals widen in peak season; unplanned re-routing is unseen.",
            "assumptions": "Routes are fixed by 06:00 on the delivery day.",
            "ethical_considerations": "No personal data beyond postcode district.",
            "explainability": "Feature importance per route published in the weekly report.",
            "human_oversight_contact": "Logistics data science team, logistics-ml@example.com",
        },
        risk=DemoRisk(_answers("low", "medium", "low", "medium", "medium"), EUAIActClass.MINIMAL),
        versions=(
            DemoVersion(
                "2.1.0",
                VersionStage.PRODUCTION,
                "Quantile model with hub dwell-time features.",
                training=("carrier-scan-feed", "delivery-events-2023-2025"),
                evaluation=("delivery-events-2023-2025",),
                hyperparameters={"quantiles": [0.1, 0.5, 0.9], "n_estimators": 500},
                metrics={"mae_minutes": 17.4, "interval_coverage_80": 0.79},
            ),
        ),
        deployments=(
            DemoDeployment(
                "2.1.0",
                DeploymentEnvironment.PRODUCTION,
                "https://ml.logistics.internal.example/eta/v2",
                "Failed-delivery predictor; parcel tracking page",
                120,
            ),
        ),
    ),
    DemoModel(
        slug="legacy-credit-scorecard",
        owner="model_owner",
        business_owner="business_owner",
        status=LifecycleStatus.RETIRED,
        retirement_reason=(
            "Replaced by Retail credit scoring 2.x after parallel running; kept on file for the "
            "retention period of credit decisions."
        ),
        fields={
            "name": "Legacy application scorecard",
            "business_unit": "consumer-lending",
            "model_type": ModelType.CLASSIFICATION,
            "algorithm": "Logistic regression scorecard (WoE binning)",
            "description": "The points-based application scorecard used until 2023.",
            "purpose": "Score unsecured lending applications (historical).",
            "out_of_scope_uses": "Any current credit decision.",
            "intended_users": "Underwriting (historical).",
            "inputs": "Bureau and application attributes, 14 binned characteristics.",
            "outputs": "Points score.",
            "limitations": "Weaker discrimination than the replacement; not recalibrated.",
            "ethical_considerations": "Kept only to explain past decisions on request.",
            "explainability": "Fully transparent points table.",
            "human_oversight_contact": "Credit Risk Underwriting duty manager, ext. 4410",
        },
        risk=DemoRisk(
            _answers("high", "high", "high", "medium", "low"),
            EUAIActClass.HIGH_RISK,
            annex_point="5(b)",
        ),
        versions=(
            DemoVersion(
                "7.0",
                VersionStage.ARCHIVED,
                "Final recalibration of the scorecard.",
                training=("credit-applications-2019-2024",),
                hyperparameters={"bins": 14, "penalty": "l2", "C": 1.0},
                metrics={"gini": 0.52, "ks": 0.39},
            ),
        ),
    ),
    DemoModel(
        slug="support-reply-assistant",
        owner="model_owner2",
        business_owner="business_owner2",
        status=LifecycleStatus.VALIDATION,
        review_in_days=9,
        fields={
            "name": "Support reply assistant",
            "business_unit": "customer-service",
            "origin": Origin.VENDOR,
            "vendor": "Northwind Language Systems (hosted large language model)",
            "model_type": ModelType.GENERATIVE,
            "algorithm": "Vendor large language model with retrieval over help-centre articles",
            "description": "Drafts replies to customer e-mails for agents to edit and send.",
            "purpose": (
                "Reduce handling time by drafting a first reply grounded in help-centre "
                "articles; an agent reviews, edits and sends every reply."
            ),
            "out_of_scope_uses": (
                "Sending replies without an agent; complaints, bereavement or vulnerable-"
                "customer cases; legal or financial advice."
            ),
            "intended_users": "Customer service agents.",
            "inputs": "Customer message (redacted), ticket category, retrieved articles.",
            "outputs": "Draft reply text with cited articles.",
            "downstream_consumers": "Helpdesk agent workspace.",
            "limitations": "May state outdated policy if articles are stale; English and German.",
            "assumptions": "Help-centre articles are reviewed quarterly.",
            "ethical_considerations": (
                "Customers are told that replies may be drafted with AI assistance (EU AI Act "
                "Art. 50 transparency)."
            ),
            "explainability": "Each draft lists the articles it relied on.",
            "human_oversight_contact": "Customer service quality lead, cs-quality@example.com",
        },
        risk=DemoRisk(_answers("low", "medium", "low", "low", "high"), EUAIActClass.LIMITED),
        versions=(
            DemoVersion(
                "2025.05",
                VersionStage.STAGING,
                "Pilot configuration: prompt v14, retrieval top-5.",
                evaluation=("support-tickets-2024-redacted",),
                hyperparameters={"temperature": 0.2, "top_k_articles": 5, "prompt": "v14"},
                metrics={"agent_acceptance_rate": 0.63, "groundedness": 0.94},
            ),
        ),
    ),
    DemoModel(
        slug="warehouse-demand-forecast",
        owner="model_owner2",
        business_owner="business_owner2",
        status=LifecycleStatus.VALIDATION,
        review_in_days=60,
        fields={
            "name": "Warehouse picking demand forecast",
            "business_unit": "logistics",
            "model_type": ModelType.FORECASTING,
            "algorithm": "Hierarchical LightGBM with reconciliation",
            "description": "Daily order-line forecasts per fulfilment centre, 14 days ahead.",
            "purpose": "Plan picking staff and replenishment in fulfilment centres.",
            "out_of_scope_uses": "Individual staff scheduling decisions without a planner.",
            "intended_users": "Fulfilment centre planners.",
            "inputs": "Order history, promotions calendar, holidays, web traffic forecast.",
            "outputs": "Daily forecasts with 80% intervals per centre and SKU family.",
            "downstream_consumers": "Workforce planning spreadsheet; replenishment system.",
            "limitations": "Censored demand during stock-outs; new SKUs use family averages.",
            "human_oversight_contact": "Fulfilment planning manager, ext. 3150",
        },
        risk=DemoRisk(_answers("medium", "low", "low", "low", "medium"), EUAIActClass.MINIMAL),
        versions=(
            DemoVersion(
                "0.4.0",
                VersionStage.STAGING,
                "Validation candidate.",
                training=("warehouse-orders-2021-2025",),
                evaluation=("warehouse-orders-2021-2025",),
                hyperparameters={"horizon_days": 14, "num_leaves": 63},
                metrics={"wape": 0.118, "bias": -0.012},
            ),
        ),
    ),
    DemoModel(
        slug="customer-churn-propensity",
        owner="model_owner2",
        business_owner="business_owner2",
        status=LifecycleStatus.APPROVED,
        review_in_days=300,
        fields={
            "name": "Customer churn propensity",
            "business_unit": "marketing",
            "model_type": ModelType.CLASSIFICATION,
            "algorithm": "Logistic regression with spline features",
            "description": "Probability that an active customer makes no purchase in 90 days.",
            "purpose": "Select customers for retention offers and diversify their recommendations.",
            "out_of_scope_uses": "Pricing individual customers; service eligibility.",
            "intended_users": "CRM campaign team; recommendation service.",
            "inputs": "Monthly activity summary, tenure, contact history.",
            "outputs": "90-day churn probability.",
            "downstream_consumers": "Retention campaigns; product recommendation service.",
            "limitations": "Offline purchases invisible; calibrated on 2024 behaviour.",
            "ethical_considerations": "Offers are capped so that no segment is over-contacted.",
            "explainability": "Coefficients published; per-customer contributions on request.",
            "human_oversight_contact": "CRM analytics lead, crm-analytics@example.com",
        },
        risk=DemoRisk(_answers("medium", "low", "low", "low", "medium"), EUAIActClass.MINIMAL),
        versions=(
            DemoVersion(
                "1.0.0",
                VersionStage.STAGING,
                "Approved for launch with the summer retention campaign.",
                training=("customer-activity-monthly",),
                evaluation=("customer-activity-monthly",),
                hyperparameters={"C": 0.3, "spline_knots": 5},
                metrics={"auc": 0.77, "calibration_slope": 0.98},
            ),
        ),
    ),
    DemoModel(
        slug="income-document-ocr",
        owner="model_owner",
        business_owner="business_owner",
        status=LifecycleStatus.DEVELOPMENT,
        review_in_days=45,
        fields={
            "name": "Income document extraction",
            "business_unit": "consumer-lending",
            "origin": Origin.VENDOR,
            "vendor": "DocuSense Ltd (document AI service)",
            "model_type": ModelType.VISION,
            "algorithm": "Vendor OCR and layout model (proprietary)",
            "description": "Extracts employer, pay period and net income from payslips.",
            "purpose": (
                "Pre-fill verified income for credit applications from uploaded payslips and "
                "bank statements; underwriters confirm extracted values."
            ),
            "out_of_scope_uses": "Identity verification; fraud decisions.",
            "intended_users": "Underwriters; retail credit scoring (as an input).",
            "inputs": "Uploaded document images (PDF, JPEG).",
            "outputs": "Extracted fields with confidence scores.",
            "downstream_consumers": "Retail credit scoring; underwriter workbench.",
            "limitations": "Handwritten and photographed documents are often misread.",
            "human_oversight_contact": "Credit operations team leader, ext. 4432",
        },
        risk=DemoRisk(
            _answers("medium", "high", "medium", "medium", "high"),
            EUAIActClass.HIGH_RISK,
            annex_point="5(b)",
            decision="pending",
        ),
        versions=(
            DemoVersion(
                "2025.03",
                VersionStage.DEVELOPMENT,
                "Vendor release under evaluation on our documents.",
                evaluation=("payslip-images-labelled",),
                hyperparameters={"vendor_model": "ds-layout-2025-03"},
                metrics={"field_accuracy_net_income": 0.962, "document_accuracy": 0.91},
            ),
        ),
    ),
    DemoModel(
        slug="invoice-matching-classifier",
        owner="model_owner",
        business_owner="business_owner",
        status=LifecycleStatus.DEVELOPMENT,
        review_in_days=None,
        fields={
            "name": "Invoice line matching",
            "business_unit": "finance-operations",
            "model_type": ModelType.CLASSIFICATION,
            "algorithm": "Text similarity (TF-IDF) with gradient-boosted match classifier",
            "description": "Suggests purchase-order lines for incoming supplier invoice lines.",
            "purpose": "Speed up three-way matching in accounts payable; a clerk confirms.",
            "out_of_scope_uses": "Automatic posting of invoices.",
            "intended_users": "Accounts payable clerks.",
            "inputs": "Invoice line text, amounts, supplier, open purchase-order lines.",
            "outputs": "Top three candidate purchase-order lines with match scores.",
            "limitations": "Early prototype; not yet assessed.",
            "human_oversight_contact": "Accounts payable supervisor, ext. 2215",
        },
        versions=(
            DemoVersion(
                "0.1.0",
                VersionStage.DEVELOPMENT,
                "Prototype trained on a 2024 sample.",
                hyperparameters={"ngram_range": [1, 2], "max_depth": 5},
                metrics={"top1_accuracy": 0.71, "top3_accuracy": 0.88},
            ),
        ),
    ),
    DemoModel(
        slug="search-query-ranking",
        owner="model_owner2",
        business_owner="business_owner2",
        status=LifecycleStatus.DEVELOPMENT,
        review_in_days=None,
        fields={
            "name": "Search query ranking",
            "business_unit": "software-product",
            "model_type": ModelType.RANKING,
            "algorithm": "LambdaMART learning-to-rank",
            "description": "Re-ranks shop search results by predicted relevance.",
            "purpose": "Improve relevance of product search in the web shop and app.",
            "out_of_scope_uses": "Sponsored placement decisions.",
            "intended_users": "Web shop search service.",
            "inputs": "Query text, product attributes, click and purchase signals.",
            "outputs": "Relevance score per query-product pair.",
            "limitations": "Offline evaluation only so far.",
            "human_oversight_contact": "Search team, search@example.com",
        },
    ),
)

# Model → model feeds: (upstream, downstream, description).
FEEDS: tuple[tuple[str, str, str], ...] = (
    (
        "delivery-eta-forecaster",
        "failed-delivery-predictor",
        "Predicted ETA and interval width are features of the failure model.",
    ),
    (
        "income-document-ocr",
        "retail-credit-scoring",
        "Verified net income replaces declared income when available.",
    ),
    (
        "customer-churn-propensity",
        "product-recommendations",
        "Churn propensity diversifies recommendations for at-risk customers.",
    ),
)


# --- requests left open -------------------------------------------------------------------


@dataclass(frozen=True)
class DemoRequest:
    """An approval request left pending. ``version`` None: the request is about the model.
    ``signed_by`` lists the slots already approved (the rest wait in the approvers' inboxes)."""

    kind: str
    model: str
    version: str | None
    requester: str
    justification: str = ""
    signed_by: tuple[str, ...] = ()


# A reassessment left for the second validator: the ETA forecaster now also drives the
# recipients' rebooking offers, so its customer impact went up.
TIER_PROPOSAL: dict[str, Any] = {
    "model": "delivery-eta-forecaster",
    "assessor": "model_owner2",
    "answers": _answers("low", "high", "low", "medium", "medium"),
    "eu_class": EUAIActClass.MINIMAL,
    "reason": (
        "Since March the ETA window also decides which recipients are offered a rebooking slot; "
        "a wrong window now costs customers a missed delivery."
    ),
}

PENDING_REQUESTS: tuple[DemoRequest, ...] = (
    DemoRequest(
        ApprovalKind.PROMOTION,
        "retail-credit-scoring",
        "2.5.0-rc1",
        "model_owner",
        "Six weeks in shadow mode: Gini 0.63 against 0.62 for 2.4.0, no calibration drift in "
        "any score band. Validation signed off; the business owner's approval is missing.",
        signed_by=(ApproverRole.VALIDATOR,),
    ),
    DemoRequest(
        ApprovalKind.PROMOTION,
        "customer-churn-propensity",
        "1.0.0",
        "model_owner2",
        "First release for the autumn retention campaign.",
    ),
    DemoRequest(
        ApprovalKind.VALIDATION_SIGNOFF,
        "support-reply-assistant",
        "2025.05",
        "model_owner2",
        "Evaluation on the redacted 2024 conversations is complete.",
    ),
)
