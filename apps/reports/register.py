"""Inventory register: every model the user may see with its key governance fields, filtered
with the inventory list's own filterset (same query parameters, same results), now or as of
a past time T; as CSV, XLSX and landscape PDF.

Now, one annotated query reads the models and their counts. As of T, the models' fields come
from ``apps.reports.history.rows_as_of`` and the counts from the rows of incidents, findings,
versions and approvals as they stood at T; the filters then apply to those values (a register
of tier-1 models as of March lists the models that were tier 1 in March).

Spreadsheet safety. A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return is a formula to Excel, LibreOffice and Google Sheets, even in a CSV file. In the CSV,
every text cell starting so gets a leading apostrophe (the OWASP advice), as does text that
starts with an apostrophe, so that the escaping is reversible; numbers stay numbers. In the
XLSX, text cells are written with the string type (never as formulas) and marked with
Excel's quote prefix, so they stay text even when someone edits the cell.

CSV encoding: UTF-8 with a byte-order mark, because Excel — what auditors open a register
with — reads a CSV without one in the local ANSI code page and garbles names with accents.
Programs should read it as ``utf-8-sig``. Rows end in CRLF (RFC 4180).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Mapping, Sequence
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Count, IntegerField, Max, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import QueryDict
from django.template.loader import render_to_string
from django.utils import timezone

from apps.accounts.models import User
from apps.approvals.choices import RequestStatus
from apps.approvals.models import ApprovalRequest
from apps.audit.checkpoints import summary as checkpoint_summary
from apps.core import clock
from apps.core.errors import ApplicationError
from apps.core.export_cells import local_date, local_time, zone_of
from apps.incidents.choices import ACTIVE_STATUSES
from apps.incidents.models import Incident
from apps.inventory import selectors
from apps.inventory.choices import EUAIActClass, LifecycleStatus, RiskTier, VersionStage
from apps.inventory.models import BusinessUnit, ModelVersion, RegisteredModel
from apps.reports.lineage import iso
from apps.reviews.choices import FindingStatus
from apps.reviews.models import Finding

#: The register's columns: (key in the rows and CSV header, XLSX header, kind).
#:
#: People read names and labels; programs read usernames, codes and ISO times. Each has its
#: own column, the human one first: ``owner_name`` then ``owner`` (the username),
#: ``risk_tier_label`` then ``risk_tier`` (1-3), ``last_approval`` (the reader's zone) then
#: ``last_approval_at`` (ISO, UTC). Every column of earlier registers keeps its CSV heading
#: and its values, so a program that reads the CSV by heading reads what it read before
#: (README, "Reports"). The XLSX writes dates as dates, so it has no separate text column
#: for them (``CSV_ONLY``).
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("slug", "Slug", "text"),
    ("name", "Name", "text"),
    ("business_unit", "Business unit", "text"),
    ("business_unit_code", "Business unit code", "text"),
    ("owner_name", "Owner", "text"),
    ("owner", "Owner username", "text"),
    ("business_owner_name", "Business owner", "text"),
    ("business_owner", "Business owner username", "text"),
    ("validator_name", "Validator", "text"),
    ("validator", "Validator username", "text"),
    ("risk_tier_label", "Risk tier", "text"),
    ("risk_tier", "Risk tier code", "int"),
    ("eu_ai_act_class_label", "EU AI Act class", "text"),
    ("eu_ai_act_class", "EU AI Act class code", "text"),
    ("eu_annex_iii_point", "Annex III point", "text"),
    ("status_label", "Status", "text"),
    ("status", "Status code", "text"),
    ("production_version", "Production version", "text"),
    ("last_approval", "Last approval", "text"),
    ("last_approval_at", "Last approval (UTC)", "datetime"),
    ("open_incidents", "Open incidents", "int"),
    ("open_findings", "Open findings", "int"),
    ("overdue_findings", "Overdue findings", "int"),
    ("next_review", "Next review", "text"),
    ("next_review_date", "Next review", "date"),
    ("review_overdue", "Review overdue", "bool"),
    ("findings_overdue", "Findings overdue", "bool"),
    ("discovered_from", "Discovered from", "text"),
    ("awaiting_claim", "Discovered, awaiting claim", "bool"),
)

#: Columns of the CSV only: the XLSX shows the date cell itself in a readable format.
CSV_ONLY = frozenset({"next_review"})
XLSX_COLUMNS = tuple(c for c in COLUMNS if c[0] not in CSV_ONLY)

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
ESCAPED_PREFIXES = (*FORMULA_PREFIXES, "'")

#: Model fields read as of T (filters and row values).
MODEL_FIELDS = (
    "slug",
    "name",
    "purpose",
    "description",
    "algorithm",
    "business_unit_id",
    "owner_id",
    "business_owner_id",
    "validator_id",
    "risk_tier",
    "eu_ai_act_class",
    "eu_annex_iii_point",
    "status",
    "next_review_date",
)


class RegisterRows(list):
    """The register's rows (``list[dict]``), with the filters and as-of that chose them."""

    filters: dict[str, list[str]]
    as_of: str | None
    as_of_requested: bool

    def __init__(self, rows, *, filters, as_of, as_of_requested):
        super().__init__(rows)
        self.filters = filters
        self.as_of = as_of
        self.as_of_requested = as_of_requested


# --- reading ------------------------------------------------------------------------------


def _query_dict(filters: Mapping[str, Any] | QueryDict | None) -> QueryDict:
    if isinstance(filters, QueryDict):
        return filters
    data = QueryDict(mutable=True)
    for key, value in (filters or {}).items():
        values = value if isinstance(value, list | tuple) else [value]
        data.setlist(key, ["" if v is None else str(v) for v in values])
    return data


def model_filterset(*, user, filters: Mapping[str, Any] | QueryDict | None):
    """The inventory list's filterset, bound as the list binds it: over the models the user
    sees, owner choices limited to their owners."""
    return selectors.model_filterset(user=user, data=_query_dict(filters))


def _applied(filterset) -> dict[str, list[str]]:
    """The filters in force, as given (for the report's header)."""
    data = filterset.data or QueryDict()
    return {
        name: [v for v in data.getlist(name) if v != ""]
        for name in filterset.filters
        if any(v != "" for v in data.getlist(name))
    }


def register_rows(
    *,
    user,
    filters: Mapping[str, Any] | QueryDict | None = None,
    as_of: dt.datetime | None = None,
) -> RegisterRows:
    """The register of the models ``user`` sees, filtered like the inventory list.

    Raises PermissionDenied for users who may not list the inventory and ApplicationError
    naming the parameter when a filter value is invalid (the list page ignores such values;
    a report that silently dropped a filter would misstate what it lists). A constant
    number of queries whatever the number of models.
    """
    if not user.has_perm("inventory.view_registeredmodel"):
        raise PermissionDenied("You may not read the inventory.")
    filterset = model_filterset(user=user, filters=filters)
    if filterset.is_bound and not filterset.is_valid():
        errors = {name: [str(m) for m in messages] for name, messages in filterset.errors.items()}
        shown = "; ".join(f"{name}: {' '.join(messages)}" for name, messages in errors.items())
        raise ApplicationError(f"Invalid register filter — {shown}", field_errors=errors)
    if as_of is not None and filterset.is_bound and filterset.form.cleaned_data.get("health"):
        # Health is read from today's incidents, breaches, thresholds and findings; a register
        # as of a past time filtered by it would list today's troubled models as then.
        message = (
            "Health describes models now; remove the health filter to report as of a past time."
        )
        raise ApplicationError(message, field_errors={"health": [message]})
    zone = zone_of(user)
    rows = (
        _rows_now(filterset, zone=zone)
        if as_of is None
        else _rows_as_of(filterset, user=user, as_of=as_of, zone=zone)
    )
    return RegisterRows(
        rows,
        filters=_applied(filterset),
        as_of=iso(as_of or clock.now()),
        as_of_requested=as_of is not None,
    )


def _count(queryset) -> Coalesce:
    """The number of rows of ``queryset`` (filtered on ``model=OuterRef("pk")``) per model."""
    counted = queryset.order_by().values("model").annotate(n=Count("pk")).values("n")[:1]
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def _rows_now(filterset, *, zone: dt.tzinfo = dt.UTC) -> list[dict]:
    """Today's register: one query for the models with their figures (plain values, no
    objects), one each for the people and the business units they name (a few hundred,
    however many models)."""
    today = timezone.localdate()
    mine = {"model": OuterRef("pk")}
    production = ModelVersion.objects.filter(stage=VersionStage.PRODUCTION, **mine)
    # The latest approval of each model: one step down the (model, status, closed_at) index,
    # however many requests the model has had.
    approvals = (
        ApprovalRequest.objects.filter(status=RequestStatus.APPROVED, **mine)
        .order_by("-closed_at")
        .values("closed_at")[:1]
    )
    open_findings = Finding.objects.filter(status=FindingStatus.OPEN, **mine)
    models = list(
        filterset.qs.annotate(
            production_version=Subquery(production.values("version")[:1]),
            last_approval_at=Subquery(approvals),
            open_incidents=_count(Incident.objects.filter(status__in=ACTIVE_STATUSES, **mine)),
            open_findings=_count(open_findings),
            overdue_findings=_count(open_findings.filter(due_date__lt=today)),
        ).values(
            "slug",
            "name",
            "business_unit_id",
            "owner_id",
            "business_owner_id",
            "validator_id",
            "risk_tier",
            "eu_ai_act_class",
            "eu_annex_iii_point",
            "status",
            "next_review_date",
            "production_version",
            "last_approval_at",
            "open_incidents",
            "open_findings",
            "overdue_findings",
            "discovered_from",
            "discovered_at",
            "claimed_at",
        )
    )
    people = {m[key] for m in models for key in PEOPLE_KEYS if m[key]}
    users = {
        u.pk: u
        for u in User.objects.filter(pk__in=people).only(
            "pk", "username", "first_name", "last_name"
        )
    }
    units = {
        u.pk: u
        for u in BusinessUnit.objects.filter(pk__in={m["business_unit_id"] for m in models}).only(
            "pk", "name", "code"
        )
    }
    return [
        _row(
            slug=m["slug"],
            name=m["name"],
            unit=units.get(m["business_unit_id"]),
            owner=users.get(m["owner_id"]),
            business_owner=users.get(m["business_owner_id"]),
            validator=users.get(m["validator_id"]),
            risk_tier=m["risk_tier"],
            eu_class=m["eu_ai_act_class"],
            annex_point=m["eu_annex_iii_point"],
            status=m["status"],
            production_version=m["production_version"],
            last_approval_at=m["last_approval_at"],
            open_incidents=m["open_incidents"],
            open_findings=m["open_findings"],
            overdue_findings=m["overdue_findings"],
            next_review_date=m["next_review_date"],
            discovered=_discovered(m, at=None),
            today=today,
            zone=zone,
        )
        for m in models
    ]


def _discovered(model: Mapping[str, Any], *, at: dt.datetime | None) -> tuple[str, bool]:
    """Where an integration found the model, and whether it was still waiting for an owner to
    claim it at ``at`` (now when ``None``). Both times are set once and never change, so the
    model's row answers for any time."""
    found_at, claimed_at = model["discovered_at"], model["claimed_at"]
    if found_at is None or (at is not None and found_at > at):
        return "", False
    awaiting = claimed_at is None or (at is not None and claimed_at > at)
    return model["discovered_from"], awaiting


PEOPLE_KEYS = ("owner_id", "business_owner_id", "validator_id")


def _rows_as_of(filterset, *, user, as_of: dt.datetime, zone: dt.tzinfo = dt.UTC) -> list[dict]:
    from apps.reports.history import rows_as_of

    today = as_of.astimezone(dt.UTC).date()
    visible = filterset.queryset  # the models the user sees (today's rule)
    models = rows_as_of(visible, as_of=as_of, fields=MODEL_FIELDS)
    cleaned = filterset.form.cleaned_data if filterset.is_bound else {}
    models = [m for m in models if _matches(m, cleaned)]
    ids = {m["pk"] for m in models}
    users = {
        u.pk: u
        for u in User.objects.filter(
            pk__in={
                m[key]
                for m in models
                for key in ("owner_id", "business_owner_id", "validator_id")
                if m[key]
            }
        )
    }
    units = {
        u.pk: u for u in BusinessUnit.objects.filter(pk__in={m["business_unit_id"] for m in models})
    }
    models = _ordered(
        models,
        cleaned.get("ordering"),
        sort_keys={
            "business_unit": lambda m: (
                units[m["business_unit_id"]].name if m["business_unit_id"] in units else None
            ),
            "owner": lambda m: users[m["owner_id"]].username if m["owner_id"] in users else None,
        },
    )

    in_scope = {"model__in": visible.values("pk")}
    production: dict[int, str] = {}
    for v in rows_as_of(
        ModelVersion.objects.filter(**in_scope),
        as_of=as_of,
        fields=["model_id", "version", "stage"],
    ):
        if v["stage"] == VersionStage.PRODUCTION:
            production[v["model_id"]] = v["version"]
    incidents: dict[int, int] = {}
    for i in rows_as_of(
        Incident.objects.filter(**in_scope), as_of=as_of, fields=["model_id", "status"]
    ):
        if i["status"] in ACTIVE_STATUSES:
            incidents[i["model_id"]] = incidents.get(i["model_id"], 0) + 1
    open_findings: dict[int, int] = {}
    overdue: dict[int, int] = {}
    for f in rows_as_of(
        Finding.objects.filter(**in_scope),
        as_of=as_of,
        fields=["model_id", "status", "due_date"],
    ):
        if f["status"] == FindingStatus.OPEN:
            open_findings[f["model_id"]] = open_findings.get(f["model_id"], 0) + 1
            if f["due_date"] is not None and f["due_date"] < today:
                overdue[f["model_id"]] = overdue.get(f["model_id"], 0) + 1
    found = {
        m["pk"]: m
        for m in RegisteredModel.objects.filter(pk__in=ids).values(
            "pk", "discovered_from", "discovered_at", "claimed_at"
        )
    }
    # An approved request was approved when it closed; closing is final.
    approvals = dict(
        ApprovalRequest.objects.filter(
            status=RequestStatus.APPROVED, closed_at__lte=as_of, model__in=ids
        )
        .order_by()
        .values("model")
        .annotate(last=Max("closed_at"))
        .values_list("model", "last")
    )
    return [
        _row(
            slug=m["slug"],
            name=m["name"],
            unit=units.get(m["business_unit_id"]),
            owner=users.get(m["owner_id"]),
            business_owner=users.get(m["business_owner_id"]),
            validator=users.get(m["validator_id"]),
            risk_tier=m["risk_tier"],
            eu_class=m["eu_ai_act_class"],
            annex_point=m["eu_annex_iii_point"],
            status=m["status"],
            production_version=production.get(m["pk"]),
            last_approval_at=approvals.get(m["pk"]),
            open_incidents=incidents.get(m["pk"], 0),
            open_findings=open_findings.get(m["pk"], 0),
            overdue_findings=overdue.get(m["pk"], 0),
            next_review_date=m["next_review_date"],
            discovered=_discovered(found[m["pk"]], at=as_of),
            today=today,
            zone=zone,
        )
        for m in models
    ]


def _matches(row: Mapping[str, Any], cleaned: Mapping[str, Any]) -> bool:
    """The inventory filterset's filters (``RegisteredModelFilter``) over values of T."""
    text = (cleaned.get("q") or "").strip().lower()
    if text and not any(
        text in (row[name] or "").lower()
        for name in ("name", "slug", "purpose", "description", "algorithm")
    ):
        return False
    tiers = cleaned.get("risk_tier")
    # "none" is the tier list's "Not assessed" (apps/inventory/filters.py: NOT_ASSESSED).
    tier = "none" if row["risk_tier"] is None else str(row["risk_tier"])
    if tiers and tier not in {str(t) for t in tiers}:
        return False
    unassessed = cleaned.get("unassessed")
    if unassessed is not None and (row["risk_tier"] is None) != unassessed:
        return False
    statuses = cleaned.get("status")
    if statuses and row["status"] not in statuses:
        return False
    classes = cleaned.get("eu_ai_act_class")
    if classes and row["eu_ai_act_class"] not in classes:
        return False
    units = cleaned.get("business_unit")
    if units and row["business_unit_id"] not in {u.pk for u in units}:
        return False
    owner = cleaned.get("owner")
    if owner is not None and row["owner_id"] != owner.pk:
        return False
    due = cleaned.get("review_due_before")
    return not (
        due is not None and (row["next_review_date"] is None or row["next_review_date"] > due)
    )


#: The filterset's ordering names → row keys, for rows of T (see ``_ordered``).
_ORDERING = {
    "name": "name",
    "slug": "slug",
    "risk_tier": "risk_tier",
    "status": "status",
    "eu_ai_act_class": "eu_ai_act_class",
    "next_review_date": "next_review_date",
    "updated_at": "name",  # no update time as of T: by name
}


def _ordered(
    rows: list[dict], ordering: Sequence[str] | None, *, sort_keys: Mapping[str, Any]
) -> list[dict]:
    """Rows in the list's order: by name unless ``ordering`` says otherwise; empty values
    last ascending and first descending, as PostgreSQL sorts them."""
    rows = sorted(rows, key=lambda r: ((r["name"] or "").lower(), r["slug"]))
    for term in reversed(list(ordering or [])):
        descending = term.startswith("-")
        name = term.lstrip("-")
        if name in sort_keys:
            get = sort_keys[name]
        elif name in _ORDERING:
            get = (lambda k: lambda r: r[k])(_ORDERING[name])
        else:
            continue
        present = [r for r in rows if get(r) is not None]
        missing = [r for r in rows if get(r) is None]
        present.sort(key=get, reverse=descending)
        rows = missing + present if descending else present + missing
    return rows


def _name(user) -> str:
    return (user.get_full_name() or user.username) if user is not None else ""


def _row(
    *,
    slug,
    name,
    unit,
    owner,
    business_owner,
    validator,
    risk_tier,
    eu_class,
    annex_point,
    status,
    production_version,
    last_approval_at,
    open_incidents,
    open_findings,
    overdue_findings,
    next_review_date,
    discovered: tuple[str, bool],
    today: dt.date,
    zone: dt.tzinfo = dt.UTC,
) -> dict:
    review_overdue = (
        next_review_date is not None
        and next_review_date < today
        and status != LifecycleStatus.RETIRED
    )
    return {
        "slug": slug,
        "name": name,
        "business_unit": unit.name if unit is not None else "",
        "business_unit_code": unit.code if unit is not None else "",
        "owner": owner.username if owner is not None else "",
        "owner_name": _name(owner),
        "business_owner": business_owner.username if business_owner is not None else "",
        "business_owner_name": _name(business_owner),
        "validator": validator.username if validator is not None else "",
        "validator_name": _name(validator),
        "risk_tier": risk_tier,
        "risk_tier_label": _label(RiskTier, risk_tier) if risk_tier else "Not assessed",
        "eu_ai_act_class": eu_class or "",
        "eu_ai_act_class_label": _label(EUAIActClass, eu_class),
        "eu_annex_iii_point": annex_point or "",
        "status": status,
        "status_label": _label(LifecycleStatus, status),
        "production_version": production_version or "",
        "last_approval": local_time(last_approval_at, zone),
        "last_approval_at": iso(last_approval_at),
        "open_incidents": int(open_incidents or 0),
        "open_findings": int(open_findings or 0),
        "overdue_findings": int(overdue_findings or 0),
        "next_review": local_date(next_review_date),
        "next_review_date": next_review_date.isoformat() if next_review_date else None,
        "review_overdue": bool(review_overdue),
        "findings_overdue": bool(overdue_findings),
        "discovered_from": discovered[0],
        "awaiting_claim": discovered[1],
    }


def _label(choices, value) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return "" if value is None else str(value)


# --- CSV ----------------------------------------------------------------------------------


def csv_text(value: Any) -> str:
    """A text cell that no spreadsheet runs as a formula: a leading apostrophe when it
    starts like one. Text that itself starts with an apostrophe gets one too, so the
    escaping can be undone exactly: drop the first character of a cell that starts with
    ``'``."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(ESCAPED_PREFIXES) else text


def csv_cell(value: Any) -> Any:
    """A CSV cell: numbers stay numbers, booleans are ``true``/``false``, text is made safe."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return value
    return csv_text(value)


def csv_bytes(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> bytes:
    """UTF-8 CSV with a byte-order mark (for Excel) and CRLF line ends; cells made safe."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([csv_text(h) for h in header])
    for row in rows:
        writer.writerow([csv_cell(v) for v in row])
    return buffer.getvalue().encode("utf-8-sig")


def register_csv(rows: Sequence[Mapping[str, Any]]) -> bytes:
    """The register as CSV: the column keys as header; names, labels and readable times for
    people, each next to the username, code or ISO time programs read (``COLUMNS``)."""
    return csv_bytes(
        [key for key, _, _ in COLUMNS], [[row[key] for key, _, _ in COLUMNS] for row in rows]
    )


# --- XLSX ---------------------------------------------------------------------------------

_WIDTHS = {"text": 18, "int": 10, "datetime": 20, "date": 12, "bool": 10}
_WIDE = {
    "slug": 24,
    "name": 32,
    "business_unit": 22,
    "owner_name": 20,
    "business_owner_name": 20,
    "validator_name": 20,
    "eu_ai_act_class_label": 30,
    "last_approval": 22,
}


def _xlsx_text(cell, value: Any) -> None:
    """Write ``value`` as a string cell: never a formula, kept as text when edited."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    text = ILLEGAL_CHARACTERS_RE.sub("", "" if value is None else str(value))
    cell.value = text
    cell.data_type = "s"  # openpyxl would otherwise store "=…" as a formula
    if text.startswith(FORMULA_PREFIXES):
        cell.quotePrefix = True


def _xlsx_value(cell, value: Any, kind: str) -> None:
    if value is None or value == "":
        cell.value = None
    elif kind == "int" and isinstance(value, int) and not isinstance(value, bool):
        cell.value = value
    elif kind == "bool":
        cell.value = bool(value)
    elif kind == "date" and isinstance(value, str):
        cell.value = dt.date.fromisoformat(value)
        cell.number_format = "d mmm yyyy"  # a date cell: sorts as a date, reads as one
    elif kind == "datetime" and isinstance(value, str):
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        cell.value = moment.astimezone(dt.UTC).replace(tzinfo=None)  # Excel has no zones
        cell.number_format = "yyyy-mm-dd hh:mm:ss"
    else:
        _xlsx_text(cell, value)


def _meta_lines(meta: Mapping[str, Any], rows: Sequence[Mapping[str, Any]]) -> list[tuple]:
    person = meta.get("generated_by") or {}
    head = meta.get("audit_chain_head") or {}
    filters = getattr(rows, "filters", None) or {}
    lines = [
        ("Report", "mlgov inventory register"),
        ("As of (UTC)", meta.get("as_of") or getattr(rows, "as_of", None) or ""),
        ("Generated at (UTC)", meta.get("generated_at", "")),
        ("Generated by", f"{person.get('name', '')} ({person.get('username', '')})"),
        ("Generator", meta.get("generator", "")),
        ("Report id", meta.get("report_id") if meta.get("report_id") is not None else ""),
        ("Audit chain head sequence", head.get("sequence", "")),
        ("Audit chain head hash", head.get("hash", "")),
        ("Audit checkpoint", checkpoint_summary(meta.get("audit_checkpoint"))),
        ("Models listed", len(rows)),
        ("Discovered, awaiting claim", sum(bool(r.get("awaiting_claim")) for r in rows)),
        (
            "Filters",
            "; ".join(f"{k}={','.join(v)}" for k, v in sorted(filters.items())) or "none",
        ),
    ]
    if meta.get("snapshot_sha256"):
        lines.append(("Content SHA-256", meta["snapshot_sha256"]))
    return lines


def register_xlsx(rows: Sequence[Mapping[str, Any]], meta: Mapping[str, Any]) -> bytes:
    """The register as an Excel workbook: sheet "Register" (header row, frozen header and
    name columns, widths, autofilter) and sheet "Generation" with the metadata."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Register"
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="EEF2F7")
    for col, (key, label, kind) in enumerate(XLSX_COLUMNS, start=1):
        cell = sheet.cell(row=1, column=col)
        _xlsx_text(cell, label)
        cell.font, cell.fill = bold, fill
        sheet.column_dimensions[get_column_letter(col)].width = _WIDE.get(key, _WIDTHS[kind])
    for r, row in enumerate(rows, start=2):
        for col, (key, _, kind) in enumerate(XLSX_COLUMNS, start=1):
            _xlsx_value(sheet.cell(row=r, column=col), row[key], kind)
    sheet.freeze_panes = "C2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(XLSX_COLUMNS))}{max(len(rows) + 1, 1)}"

    info = workbook.create_sheet("Generation")
    info.column_dimensions["A"].width = 28
    info.column_dimensions["B"].width = 80
    for r, (label, value) in enumerate(_meta_lines(meta, rows), start=1):
        _xlsx_text(info.cell(row=r, column=1), label)
        info.cell(row=r, column=1).font = bold
        if isinstance(value, int) and not isinstance(value, bool):
            info.cell(row=r, column=2).value = value
        else:
            _xlsx_text(info.cell(row=r, column=2), value)

    workbook.properties.creator = str(meta.get("generator") or "mlgov")
    workbook.properties.title = "mlgov inventory register"
    generated = meta.get("generated_at")
    if generated:
        moment = dt.datetime.fromisoformat(str(generated).replace("Z", "+00:00"))
        workbook.properties.created = moment.astimezone(dt.UTC).replace(tzinfo=None)
        workbook.properties.modified = workbook.properties.created
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --- PDF ----------------------------------------------------------------------------------


def register_html(rows: Sequence[Mapping[str, Any]], meta: Mapping[str, Any]) -> str:
    """The register as printable HTML (the PDF's source); user text escaped."""
    filters = getattr(rows, "filters", None) or {}
    context = {
        "rows": rows,
        "meta": meta,
        "as_of": meta.get("as_of") or getattr(rows, "as_of", None),
        "filters": sorted((k, ", ".join(v)) for k, v in filters.items()),
        "overdue_reviews": sum(1 for r in rows if r["review_overdue"]),
        "overdue_findings": sum(1 for r in rows if r["findings_overdue"]),
        "open_incidents": sum(r["open_incidents"] for r in rows),
    }
    return render_to_string("reports/register/register.html", context)


def register_pdf(rows: Sequence[Mapping[str, Any]], meta: Mapping[str, Any]) -> bytes:
    """The register as a landscape PDF/A-3b, with the CSV attached as ``register.csv``."""
    from apps.reports.pdf import RECORDS_CSS, PdfAttachment, render_pdf

    attachment = PdfAttachment(
        name="register.csv",
        data=register_csv(rows),
        description="The register as CSV (UTF-8 with BOM)",
        mime="text/csv",
    )
    return render_pdf(
        register_html(rows, meta),
        attachments=[attachment],
        landscape=True,
        stylesheets=(RECORDS_CSS,),
    )
