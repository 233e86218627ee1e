"""Regulatory coverage of a model card: which documentation items the record holds.

Each documentation item of a card is mapped to the requirement it serves in four frameworks:

- **SR 26-2**, the US supervisory guidance on model risk management that replaced SR 11-7 in
  April 2026, cited by topic (model inventory, validation, ongoing monitoring, outcomes analysis,
  governance, policies and controls, ...), never by section number;
- **EU AI Act** (Regulation (EU) 2024/1689): points of Annex IV (technical documentation) and
  Articles 6, 9–15, 17, 72 and 73;
- **NIST AI RMF 1.0** (NIST AI 100-1): function categories and subcategories;
- **ISO/IEC 42001:2023** Annex A reference controls.

References point to the named documents' topics, points and controls that the item documents
evidence for; they are an orientation for reviewers, not a legal opinion, and "—" means the
framework has no specific point for the item. An item is present when the snapshot holds a
non-empty value for it; records that may rightly be empty (incidents) are present when every
recorded entry is complete. Pure: works on the snapshot dict of ``apps.reports.snapshot``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

SR = "SR 26-2"
EU = "EU AI Act"
NIST = "NIST AI RMF"
ISO = "ISO/IEC 42001"
FRAMEWORKS = (SR, EU, NIST, ISO)


@dataclass(frozen=True)
class CoverageItem:
    """One documentation item of a model card and where the frameworks ask for it."""

    key: str
    label: str
    sr_26_2: str
    eu_ai_act: str
    nist_ai_rmf: str
    iso_42001: str
    present: Callable[[dict], bool]

    def sources(self) -> dict[str, str]:
        return {
            SR: self.sr_26_2,
            EU: self.eu_ai_act,
            NIST: self.nist_ai_rmf,
            ISO: self.iso_42001,
        }


def _filled(value) -> bool:
    if value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, list | tuple | dict):
        return bool(value)
    return True


def _model(snapshot: dict) -> dict:
    return snapshot.get("model") or {}


def current_version(snapshot: dict) -> dict | None:
    """The production version at T, else the newest version, else None."""
    versions = snapshot.get("versions") or []
    return snapshot.get("production_version") or (versions[0] if versions else None)


def _datasets(snapshot: dict, role: str | None = None) -> list[dict]:
    version = current_version(snapshot) or {}
    return [d for d in version.get("datasets") or [] if role is None or d.get("role") == role]


def _text(field: str) -> Callable[[dict], bool]:
    return lambda s: _filled(_model(s).get(field))


def _all_text(*fields: str) -> Callable[[dict], bool]:
    return lambda s: all(_filled(_model(s).get(f)) for f in fields)


def _identity(s: dict) -> bool:
    m = _model(s)
    unit = m.get("business_unit") or {}
    return all(_filled(m.get(f)) for f in ("slug", "name", "status")) and _filled(unit.get("code"))


def _owners(s: dict) -> bool:
    people = s.get("people") or {}
    return _filled(people.get("owner")) and _filled(people.get("business_owner"))


def _risk_tier(s: dict) -> bool:
    risk = _model(s).get("risk") or {}
    return (
        risk.get("tier") is not None
        and _filled(risk.get("rationale"))
        and _filled(risk.get("assessed_by"))
    )


def _eu_class(s: dict) -> bool:
    eu = _model(s).get("eu_ai_act") or {}
    cls = eu.get("class") or ""
    if cls in ("", "unassessed"):
        return False
    return cls != "high_risk" or _filled(eu.get("annex_iii_point"))


def _design(s: dict) -> bool:
    m = _model(s)
    return _filled(m.get("algorithm")) and _filled(m.get("model_type"))


def _provenance(s: dict) -> bool:
    datasets = _datasets(s)
    return bool(datasets) and all(
        _filled(d.get("uri")) and _filled(d.get("content_hash")) for d in datasets
    )


def _artifact(s: dict) -> bool:
    version = current_version(s) or {}
    return _filled(version.get("artifact_sha256")) and _filled(version.get("code_commit"))


def _signed_thresholds(s: dict) -> bool:
    return any(
        (m.get("threshold") or {}).get("signoff") is not None for m in s.get("metrics") or []
    )


def _observed(s: dict) -> bool:
    return any(m.get("latest") is not None for m in s.get("metrics") or [])


def _validation(s: dict) -> bool:
    validator = (s.get("people") or {}).get("validator")
    return _filled(validator) and any(
        v.get("approved_by") is not None for v in s.get("versions") or []
    )


def _approvals(s: dict) -> bool:
    return any(
        a.get("status") == "approved" and a.get("decisions") and _filled(a.get("content_sha256"))
        for a in s.get("approvals") or []
    )


def _incidents(s: dict) -> bool:
    def complete(incident: dict) -> bool:
        if not _filled(incident.get("description")):
            return False
        if _filled(incident.get("serious_category")):
            return incident.get("reporting_deadline") is not None
        return True

    return all(complete(i) for i in s.get("incidents") or [])


#: Review states that show the review was carried out (a returned attestation still holds
#: the reviewer's work and findings).
_REVIEW_DONE = ("submitted", "attested", "rejected")


def _review(s: dict) -> bool:
    """A next periodic review is scheduled and the record holds evidence of review work: a
    review carried out or findings raised (findings are recorded by validators during a
    validation or review, and are what the periodic review follows up). A review only
    opened, with no findings, is not yet evidence."""
    if not _filled(_model(s).get("next_review_date")):
        return False
    done = any(r.get("status") in _REVIEW_DONE for r in s.get("reviews") or [])
    return done or bool(s.get("findings"))


def _change_history(s: dict) -> bool:
    head = s.get("audit_chain_head") or {}
    return bool(s.get("changes")) and (head.get("sequence") or 0) > 0


def _lineage(s: dict) -> bool:
    deps = s.get("dependencies") or {}
    return (
        _filled(_model(s).get("downstream_consumers"))
        or _filled(deps.get("upstream"))
        or _filled(deps.get("downstream"))
    )


ITEMS: tuple[CoverageItem, ...] = (
    CoverageItem(
        "identity",
        "Identity and inventory record (name, business unit, status)",
        "model inventory",
        "Annex IV 1(a); Art. 11",
        "GOVERN 1.6",
        "A.4.2",
        _identity,
    ),
    CoverageItem(
        "purpose",
        "Purpose and intended use",
        "model development, implementation and use",
        "Annex IV 1(a); Art. 13",
        "MAP 1.1",
        "A.9.4",
        _text("purpose"),
    ),
    CoverageItem(
        "intended_users",
        "Intended users",
        "model development, implementation and use",
        "Art. 13",
        "MAP 1.1",
        "A.8.2",
        _text("intended_users"),
    ),
    CoverageItem(
        "out_of_scope",
        "Out-of-scope uses",
        "model development, implementation and use",
        "Art. 9; Art. 13",
        "MAP 1.1; MAP 2.2",
        "A.9.4",
        _text("out_of_scope_uses"),
    ),
    CoverageItem(
        "owners",
        "Owners and accountability (model owner, business owner)",
        "governance, policies and controls — roles and responsibilities",
        "Art. 17(1)(m)",
        "GOVERN 2.1",
        "A.3.2",
        _owners,
    ),
    CoverageItem(
        "risk_tier",
        "Risk tier with rationale and assessor",
        "governance, policies and controls — model risk tiering",
        "Art. 9; Annex IV 5",
        "MAP 5.1; MANAGE 1.2",
        "A.5.2; A.5.3",
        _risk_tier,
    ),
    CoverageItem(
        "eu_ai_act_class",
        "EU AI Act classification (risk class, Annex III point)",
        "—",
        "Art. 6; Annex III",
        "GOVERN 1.1",
        "A.5.2",
        _eu_class,
    ),
    CoverageItem(
        "design",
        "Model design and algorithm",
        "model development, implementation and use",
        "Annex IV 2(b)",
        "MAP 2.1",
        "A.6.2.3",
        _design,
    ),
    CoverageItem(
        "inputs_outputs",
        "Inputs and outputs",
        "model development, implementation and use",
        "Annex IV 2(b); Annex IV 3",
        "MAP 2.1",
        "A.6.2.2",
        _all_text("inputs", "outputs"),
    ),
    CoverageItem(
        "training_data",
        "Training data",
        "model development, implementation and use — data",
        "Annex IV 2(d); Art. 10",
        "MAP 2.3",
        "A.7.2",
        lambda s: bool(_datasets(s, "trained_on")),
    ),
    CoverageItem(
        "evaluation_data",
        "Evaluation (test) data",
        "validation",
        "Annex IV 2(g); Art. 10",
        "MEASURE 2.1",
        "A.6.2.4",
        lambda s: bool(_datasets(s, "evaluated_on")),
    ),
    CoverageItem(
        "data_provenance",
        "Data provenance and content hashes",
        "model development, implementation and use — data",
        "Annex IV 2(d); Art. 10",
        "MAP 2.3",
        "A.7.5",
        _provenance,
    ),
    CoverageItem(
        "artifact",
        "Artifact hash and code commit",
        "model development, implementation and use",
        "Annex IV 1(a); Annex IV 1(c)",
        "GOVERN 1.6",
        "A.6.2.3; A.6.2.7",
        _artifact,
    ),
    CoverageItem(
        "versions",
        "Version history",
        "model inventory",
        "Annex IV 1(a); Annex IV 6",
        "GOVERN 1.6",
        "A.6.2.7",
        lambda s: bool(s.get("versions")),
    ),
    CoverageItem(
        "performance_thresholds",
        "Performance metrics with signed thresholds",
        "outcomes analysis",
        "Annex IV 2(g); Annex IV 4; Art. 15",
        "MEASURE 1.1; MEASURE 2.3",
        "A.6.2.4",
        _signed_thresholds,
    ),
    CoverageItem(
        "ongoing_monitoring",
        "Ongoing performance monitoring (observed values)",
        "ongoing monitoring",
        "Art. 72; Annex IV 9",
        "MEASURE 2.4; MANAGE 4.1",
        "A.6.2.6",
        _observed,
    ),
    CoverageItem(
        "drift",
        "Data drift monitoring",
        "ongoing monitoring",
        "Art. 15; Art. 72",
        "MEASURE 2.4",
        "A.6.2.6",
        lambda s: s.get("drift") is not None,
    ),
    CoverageItem(
        "validation",
        "Independent validation (validator, approved version)",
        "validation",
        "Annex IV 2(g)",
        "MEASURE 1.3",
        "A.6.2.4",
        _validation,
    ),
    CoverageItem(
        "approvals",
        "Approval record (signed decisions with content hashes)",
        "governance, policies and controls",
        "Annex IV 2(g)",
        "MANAGE 1.1",
        "A.6.2.5",
        _approvals,
    ),
    CoverageItem(
        "deployment",
        "Deployment (environments, endpoints, consumers)",
        "model development, implementation and use",
        "Annex IV 1(b); Annex IV 1(d)",
        "MANAGE 1.1",
        "A.6.2.5",
        lambda s: bool(s.get("deployments")),
    ),
    CoverageItem(
        "incidents",
        "Incidents and serious-incident reporting",
        "ongoing monitoring",
        "Art. 73",
        "MANAGE 4.3",
        "A.8.4",
        _incidents,
    ),
    CoverageItem(
        "periodic_review",
        "Periodic review, findings and next review date",
        "validation — periodic review",
        "Art. 9; Art. 72",
        "GOVERN 1.5",
        "A.6.2.6",
        _review,
    ),
    CoverageItem(
        "limitations",
        "Limitations",
        "model development, implementation and use",
        "Annex IV 3; Art. 13",
        "MAP 2.2",
        "A.8.2",
        _text("limitations"),
    ),
    CoverageItem(
        "assumptions",
        "Assumptions",
        "model development, implementation and use",
        "Annex IV 2(b)",
        "MAP 2.2",
        "A.6.2.3",
        _text("assumptions"),
    ),
    CoverageItem(
        "ethics",
        "Ethical considerations (bias, affected groups)",
        "—",
        "Annex IV 3; Art. 10",
        "MEASURE 2.11",
        "A.5.4; A.5.5",
        _text("ethical_considerations"),
    ),
    CoverageItem(
        "explainability",
        "Explainability",
        "—",
        "Annex IV 2(e); Art. 13",
        "MEASURE 2.9",
        "A.8.2",
        _text("explainability"),
    ),
    CoverageItem(
        "human_oversight",
        "Human oversight (contact and measures)",
        "governance, policies and controls",
        "Annex IV 2(e); Art. 14",
        "MAP 3.5",
        "A.9.2",
        _text("human_oversight_contact"),
    ),
    CoverageItem(
        "change_history",
        "Change history and record keeping (audit trail)",
        "governance, policies and controls — documentation",
        "Annex IV 6; Art. 12",
        "MANAGE 4.1",
        "A.6.2.8",
        _change_history,
    ),
    CoverageItem(
        "lineage",
        "Lineage and dependencies (upstream models, downstream consumers)",
        "model inventory",
        "Annex IV 1(b); Annex IV 2(c)",
        "MAP 4.1",
        "A.4.2",
        _lineage,
    ),
)


def coverage(snapshot: dict) -> dict:
    """The coverage table of a snapshot: each item, present or missing, and the score (0..1)."""
    items = [
        {
            "key": item.key,
            "label": item.label,
            "present": bool(item.present(snapshot)),
            "sources": item.sources(),
        }
        for item in ITEMS
    ]
    present = sum(1 for i in items if i["present"])
    total = len(items)
    return {
        "items": items,
        "present": present,
        "total": total,
        "score": round(present / total, 4) if total else 0.0,
    }
