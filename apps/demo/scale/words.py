"""Word lists the scale generator combines into a bank-sized inventory: model names such as
"Retail credit PD — SME 0412", purposes, business units, people and dataset names. Pure data
and pure functions (no ORM): the same random generator gives the same words."""

from __future__ import annotations

import random

# --- models ----------------------------------------------------------------------------------

#: (domain, subjects, model families, model type, purpose template, metrics (name, direction))
DOMAINS: tuple[tuple[str, tuple[str, ...], tuple[str, ...], str, str], ...] = (
    (
        "Retail credit",
        ("PD", "LGD", "EAD", "application score", "behaviour score", "limit setting"),
        ("gradient-boosted trees", "logistic scorecard", "XGBoost", "LightGBM"),
        "classification",
        "Estimates the {subject} of {segment} borrowers to support credit decisions and "
        "capital calculation.",
    ),
    (
        "Corporate credit",
        ("PD", "LGD", "rating", "early warning", "covenant breach"),
        ("logistic regression", "random forest", "expert-judgement hybrid"),
        "classification",
        "Rates {segment} obligors ({subject}) for the credit committee and IFRS 9 staging.",
    ),
    (
        "Mortgage",
        ("prepayment", "arrears", "valuation", "affordability", "PD"),
        ("survival model", "gradient-boosted trees", "hedonic regression"),
        "regression",
        "Forecasts {subject} for the {segment} mortgage book to steer pricing and provisions.",
    ),
    (
        "Card fraud",
        ("transaction score", "account takeover", "first-party fraud", "merchant risk"),
        ("deep neural network", "isolation forest", "graph neural network", "XGBoost"),
        "anomaly_detection",
        "Scores {segment} card transactions in real time for {subject}, routing the riskiest "
        "to review.",
    ),
    (
        "AML",
        ("transaction monitoring", "customer risk rating", "sanctions screening", "alert triage"),
        ("gradient-boosted trees", "rules-plus-ML hybrid", "graph analytics"),
        "classification",
        "Prioritises {segment} {subject} alerts so investigators see the likeliest cases first.",
    ),
    (
        "Collections",
        ("roll rate", "cure probability", "contact strategy", "promise-to-pay"),
        ("uplift model", "logistic regression", "gradient-boosted trees"),
        "classification",
        "Predicts {subject} for {segment} accounts in arrears to choose the treatment.",
    ),
    (
        "Treasury",
        ("liquidity forecast", "deposit run-off", "NII forecast", "FX exposure"),
        ("ARIMA", "state-space model", "gradient-boosted trees", "LSTM"),
        "forecasting",
        "Forecasts {subject} for the {segment} balance sheet for ALCO.",
    ),
    (
        "Market risk",
        ("VaR", "expected shortfall", "stress scenario", "pricing"),
        ("historical simulation", "Monte Carlo", "neural pricer"),
        "regression",
        "Computes {subject} for the {segment} trading book.",
    ),
    (
        "Customer",
        ("churn", "next best offer", "lifetime value", "propensity", "segmentation"),
        ("gradient-boosted trees", "two-tower recommender", "k-means", "logistic regression"),
        "ranking",
        "Predicts {subject} of {segment} customers for marketing and retention.",
    ),
    (
        "Operations",
        ("document OCR", "complaint routing", "call summarisation", "KYC document check"),
        ("transformer", "vision transformer", "fine-tuned LLM", "CNN"),
        "nlp",
        "Automates {subject} for {segment} operations, with a human reviewing exceptions.",
    ),
    (
        "Insurance",
        ("claims severity", "claims fraud", "pricing", "lapse"),
        ("GLM", "gradient-boosted trees", "Tweedie regression"),
        "regression",
        "Estimates {subject} of {segment} policies for underwriting and reserving.",
    ),
    (
        "HR",
        ("attrition", "candidate screening", "workforce planning"),
        ("logistic regression", "gradient-boosted trees"),
        "classification",
        "Supports {subject} for {segment} staff; decisions stay with a person.",
    ),
)

SEGMENTS = (
    "SME",
    "Retail",
    "Private banking",
    "Mass affluent",
    "Corporate",
    "Mid-market",
    "Startups",
    "Students",
    "Pensioners",
    "Nordics",
    "DACH",
    "Benelux",
    "Iberia",
    "UK",
    "Ireland",
    "France",
    "Italy",
    "Poland",
    "Baltics",
    "Online",
    "Branch",
    "Broker",
    "Partner",
    "Premium",
)

VENDORS = (
    "Moody's Analytics",
    "FICO",
    "Experian",
    "SAS",
    "Featurespace",
    "NICE Actimize",
    "Quantexa",
    "ABBYY",
)

BUSINESS_UNIT_NAMES = (
    "Consumer Lending",
    "Finance Operations",
    "Logistics",
    "Software Product",
    "Customer Service",
    "Customer Marketing",
    "Corporate Banking",
    "SME Banking",
    "Mortgages",
    "Cards and Payments",
    "Financial Crime",
    "Collections and Recoveries",
    "Treasury",
    "Markets",
    "Wealth Management",
    "Private Banking",
    "Insurance",
    "Group Risk",
    "Credit Risk",
    "Operational Risk",
    "Compliance",
    "Human Resources",
    "Procurement",
    "Group Finance",
    "Investor Relations",
    "Digital Channels",
    "Branch Network",
    "Contact Centre",
    "Trade Finance",
    "Leasing",
    "Asset Management",
    "Real Estate",
    "Data Office",
    "Internal Audit",
    "Legal",
    "Nordic Retail",
    "DACH Retail",
    "UK Retail",
    "Benelux Retail",
    "Iberia Retail",
)

# --- people ----------------------------------------------------------------------------------

FIRST_NAMES = (
    "Ada", "Ben", "Chloé", "Dmitri", "Elena", "Farid", "Greta", "Hugo", "Ines", "Jonas",
    "Kaito", "Lena", "Mateo", "Nadia", "Oskar", "Paula", "Quentin", "Rosa", "Sven", "Tariq",
    "Ulla", "Viktor", "Wen", "Ximena", "Yusuf", "Zofia", "Aoife", "Bruno", "Carla", "Deniz",
    "Emil", "Fatima", "Gustav", "Hana", "Ivan", "Julia", "Kofi", "Laila", "Mika", "Nora",
)  # fmt: skip
LAST_NAMES = (
    "Andersen", "Bauer", "Costa", "Dubois", "Eriksen", "Fischer", "García", "Horvat",
    "Ivanova", "Jensen", "Kowalski", "Laine", "Moreau", "Novak", "O'Brien", "Petrov",
    "Quinn", "Rossi", "Schmidt", "Tanaka", "Underwood", "Varga", "Weber", "Xu", "Yilmaz",
    "Zimmermann", "Ahmed", "Berg", "Conti", "Dias", "Engel", "Ferreira", "Gallo", "Hoffmann",
)  # fmt: skip
TIMEZONES = (
    "Europe/London",
    "Europe/Berlin",
    "Europe/Paris",
    "Europe/Stockholm",
    "Europe/Madrid",
    "Europe/Warsaw",
    "Europe/Dublin",
    "UTC",
)
JOB_TITLES = {
    "admin": "Platform administrator",
    "validator": "Model risk validator",
    "business_owner": "Head of {unit}",
    "model_owner": "Data scientist, {unit}",
    "auditor": "Internal auditor",
    "viewer": "Governance analyst",
}

# --- datasets --------------------------------------------------------------------------------

DATASET_SUBJECTS = (
    "applications",
    "transactions",
    "repayments",
    "bureau snapshots",
    "claims",
    "alerts",
    "customer interactions",
    "documents",
    "balances",
    "market prices",
    "complaints",
    "payments",
)

# --- monitoring ------------------------------------------------------------------------------

#: name, unit, direction, typical value, noise, warning, critical (for higher-is-better metrics
#: warning > critical; for lower-is-better warning < critical).
METRICS: tuple[tuple[str, str, str, float, float, float, float], ...] = (
    ("auc", "", "higher_is_better", 0.82, 0.015, 0.76, 0.72),
    ("gini", "", "higher_is_better", 0.64, 0.03, 0.52, 0.44),
    ("ks", "", "higher_is_better", 0.45, 0.03, 0.36, 0.30),
    ("accuracy", "", "higher_is_better", 0.91, 0.01, 0.87, 0.84),
    ("precision", "", "higher_is_better", 0.78, 0.03, 0.68, 0.60),
    ("recall", "", "higher_is_better", 0.74, 0.03, 0.64, 0.55),
    ("f1", "", "higher_is_better", 0.76, 0.025, 0.66, 0.58),
    ("psi", "", "lower_is_better", 0.06, 0.03, 0.10, 0.25),
    ("drift.psi.score", "", "lower_is_better", 0.05, 0.025, 0.10, 0.25),
    ("calibration.brier", "", "lower_is_better", 0.11, 0.01, 0.14, 0.17),
    ("mae", "", "lower_is_better", 12.0, 1.5, 16.0, 20.0),
    ("mape", "%", "lower_is_better", 6.5, 0.8, 9.0, 12.0),
    ("latency.p95", "ms", "lower_is_better", 85.0, 12.0, 150.0, 250.0),
    ("approval_rate", "%", "higher_is_better", 62.0, 2.5, 52.0, 45.0),
)

OBSERVATION_SEGMENTS = ("", "region=eu", "region=uk", "channel=online", "channel=branch")


def person_name(rng: random.Random) -> tuple[str, str]:
    return rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)


def model_name(rng: random.Random, domain_index: int, serial: int) -> tuple[str, str, str]:
    """A model's name, its subject and its segment, e.g. ("Retail credit PD — SME 0412",
    "PD", "SME")."""
    domain, subjects, *_ = DOMAINS[domain_index]
    subject = rng.choice(subjects)
    segment = rng.choice(SEGMENTS)
    return f"{domain} {subject} — {segment} {serial:04d}", subject, segment


def slugify(text: str) -> str:
    out = []
    for ch in text.lower():
        if ch.isascii() and ch.isalnum():
            out.append(ch)
        elif out and out[-1] != "-":
            out.append("-")
    return "".join(out).strip("-")
