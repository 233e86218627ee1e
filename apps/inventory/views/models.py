"""The model pages: the list and its CSV export, register and edit, the overview with its
lifecycle transitions, and the history tab."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator

from django.contrib import messages
from django.forms import CheckboxSelectMultiple
from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.views.decorators.http import require_POST

from apps.accounts import signature_flow
from apps.audit import selectors as audit_selectors
from apps.core.errors import ApplicationError
from apps.core.export_cells import local_date, local_time, person_name
from apps.core.forms import add_application_error
from apps.core.tabs import render_tab
from apps.core.views import paginate, render_page, require_perm, role_required
from apps.inventory import selectors, services
from apps.inventory.choices import EUAIActClass, LifecycleStatus, ModelType, Origin, RiskTier
from apps.inventory.filters import RegisteredModelFilter
from apps.inventory.forms import RegisteredModelForm, TransitionForm
from apps.inventory.models import RegisteredModel

# --- the model list ----------------------------------------------------------------------

CHECKBOX_FILTERS = ("risk_tier", "status", "eu_ai_act_class")


def _model_filterset(request) -> RegisteredModelFilter:
    """The list filters over the models the user sees; owner choices are limited likewise."""
    filterset = selectors.model_filterset(user=request.user, data=request.GET)
    filterset.form.fields["owner"].empty_label = "Any owner"
    # A few options each: checkboxes are easier to use by keyboard than multi-selects.
    for name in CHECKBOX_FILTERS:
        field = filterset.form.fields[name]
        field.widget = CheckboxSelectMultiple(attrs={"class": "checkbox-list"})
        field.widget.choices = field.choices
    return filterset


@role_required
def model_list(request):
    require_perm(request, "inventory.view_registeredmodel")
    filterset = _model_filterset(request)
    page = paginate(request, filterset.qs, keys_first=True)
    context = {
        "filterset": filterset,
        "form": filterset.form,
        "page_obj": page,
        "models": page.object_list,
        "can_create": request.user.has_perm("inventory.add_registeredmodel"),
    }
    return render_page(
        request, "inventory/model_list.html", context, partial="inventory/_model_results.html"
    )


@role_required
def model_suggest(request):
    """JSON for the model choosers' type-ahead: ``{"results": [{"slug", "name"}, …]}``, at most
    20 models the user may see matching ``q`` (nothing else: no list of the inventory)."""
    require_perm(request, "inventory.view_registeredmodel")
    rows = selectors.model_suggestions(user=request.user, term=request.GET.get("q", ""))
    return JsonResponse({"results": rows})


FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _text(value, zone=None) -> str:
    return "" if value is None else str(value)


def _iso(value, zone=None) -> str:
    return value.isoformat() if value else ""


def _person(prefix: str) -> tuple[tuple[str, ...], object]:
    """A person's full name (their username when they have none): three ``values()``
    columns through the join the username column makes anyway."""
    columns = (f"{prefix}__first_name", f"{prefix}__last_name", f"{prefix}__username")

    def write(first, last, username, zone=None) -> str:
        return person_name(first_name=first or "", last_name=last or "", username=username or "")

    return columns, write


def _label(choices) -> object:
    labels = {value: str(label) for value, label in choices.choices}

    def write(value, zone=None) -> str:
        if value is None or value == "":
            return "Not assessed" if choices is RiskTier else ""
        return labels.get(value, str(value))

    return write


def _local(value, zone=None) -> str:
    return local_time(value, zone or dt.UTC)


#: (heading, the ``values()`` column(s) it reads, how they are written). Names, labels and
#: readable times for people, each before the username, code or ISO time programs read;
#: every heading of earlier exports keeps its values (see ``apps.reports.register``).
CSV_COLUMNS = (
    ("slug", ("slug",), _text),
    ("name", ("name",), _text),
    ("business_unit", ("business_unit__name",), _text),
    ("business_unit_code", ("business_unit__code",), _text),
    ("owner_name", *_person("owner")),
    ("owner", ("owner__username",), _text),
    ("business_owner_name", *_person("business_owner")),
    ("business_owner", ("business_owner__username",), _text),
    ("validator_name", *_person("validator")),
    ("validator", ("validator__username",), _text),
    ("risk_tier_label", ("risk_tier",), _label(RiskTier)),
    ("risk_tier", ("risk_tier",), _text),
    ("eu_ai_act_class_label", ("eu_ai_act_class",), _label(EUAIActClass)),
    ("eu_ai_act_class", ("eu_ai_act_class",), _text),
    ("eu_annex_iii_point", ("eu_annex_iii_point",), _text),
    ("status_label", ("status",), _label(LifecycleStatus)),
    ("status", ("status",), _text),
    ("origin_label", ("origin",), _label(Origin)),
    ("origin", ("origin",), _text),
    ("vendor", ("vendor",), _text),
    ("model_type_label", ("model_type",), _label(ModelType)),
    ("model_type", ("model_type",), _text),
    ("algorithm", ("algorithm",), _text),
    ("purpose", ("purpose",), _text),
    ("next_review", ("next_review_date",), lambda value, zone=None: local_date(value)),
    ("next_review_date", ("next_review_date",), _iso),
    ("updated", ("updated_at",), _local),
    ("updated_at", ("updated_at",), _iso),
)


def csv_safe(value) -> str:
    """Neutralise spreadsheet formulas: a cell that starts like one gets a leading apostrophe."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


#: Rows written per chunk of the stream: one chunk is a few hundred kilobytes at most.
CSV_CHUNK_ROWS = 500


def _csv_rows(queryset, *, zone: dt.tzinfo = dt.UTC) -> Iterator[str]:
    """The register as CSV text, a chunk of rows at a time: plain ``values()`` tuples (no
    model objects) read from a server-side cursor, cells made safe for spreadsheets; times
    for people in ``zone``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([heading for heading, _, _ in CSV_COLUMNS])
    columns = list(dict.fromkeys(c for _, read, _ in CSV_COLUMNS for c in read))
    position = {column: i for i, column in enumerate(columns)}
    cells_of = [(write, [position[c] for c in read]) for _, read, write in CSV_COLUMNS]
    rows = queryset.select_related(None).values_list(*columns)
    for n, row in enumerate(rows.iterator(chunk_size=2000), 1):
        cells = [write(*(row[i] for i in at), zone=zone) for write, at in cells_of]
        writer.writerow(["'" + c if c.startswith(FORMULA_PREFIXES) else c for c in cells])
        if n % CSV_CHUNK_ROWS == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


@role_required
def model_export_csv(request):
    """The filtered inventory as CSV, streamed so a large register uses constant memory."""
    require_perm(request, "inventory.view_registeredmodel")
    filterset = _model_filterset(request)
    # The stream is written after the view returns: the user's zone is taken now.
    zone = timezone.get_current_timezone()
    response = StreamingHttpResponse(_csv_rows(filterset.qs, zone=zone), content_type="text/csv")
    stamp = timezone.localdate().strftime("%Y%m%d")
    response["Content-Disposition"] = f'attachment; filename="mlgov-inventory-{stamp}.csv"'
    return response


# --- create and edit ---------------------------------------------------------------------


@role_required
def model_create(request):
    require_perm(request, "inventory.add_registeredmodel")
    form = RegisteredModelForm(request.POST or None, initial={"owner": request.user.pk})
    if request.method == "POST" and form.is_valid():
        try:
            model = services.registered_model_create(
                actor=request.user, slug=form.cleaned_data["slug"], **form.service_data()
            )
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            messages.success(request, f"{model.name} has been registered.")
            return redirect(model)
    return render(request, "inventory/model_form.html", {"form": form, "model": None})


@role_required
def model_edit(request, slug: str):
    model = selectors.model_get(user=request.user, slug=slug)
    require_perm(request, "inventory.change_registeredmodel", model)
    form = RegisteredModelForm(request.POST or None, instance=model)
    if request.method == "POST" and form.is_valid():
        try:
            services.registered_model_update(actor=request.user, model=model, **form.service_data())
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            messages.success(request, f"{model.name} has been updated.")
            return redirect(model)
    # The form may have written invalid values onto the instance; show the stored name.
    return render(
        request,
        "inventory/model_form.html",
        {"form": form, "model": model, "title_name": form.initial.get("name", model.name)},
    )


# --- the model page and its tabs ---------------------------------------------------------


def _display(model, name: str) -> str:
    """A field's value as text in the user's zone; empty values stay empty."""
    field = model._meta.get_field(name)
    if field.choices:
        value = getattr(model, f"get_{name}_display")()
        return "" if value in ("—", None) else str(value)
    value = getattr(model, name)
    if value is None or value == "":
        return ""
    if hasattr(value, "tzinfo") and hasattr(value, "hour"):
        return date_format(timezone.localtime(value), "j M Y, H:i")
    if hasattr(value, "isoformat"):
        return date_format(value, "j M Y")
    return str(value)


OVERVIEW_GROUPS = (
    (
        "Purpose and use",
        ("description", "purpose", "out_of_scope_uses", "intended_users", "downstream_consumers"),
    ),
    (
        "Accountability",
        (
            "business_unit",
            "owner",
            "developers",
            "business_owner",
            "validator",
            "human_oversight_contact",
            "origin",
            "vendor",
        ),
    ),
    (
        "Technical",
        (
            "model_type",
            "algorithm",
            "inputs",
            "outputs",
            "assumptions",
            "limitations",
            "explainability",
        ),
    ),
    (
        "Risk and regulation",
        (
            "risk_tier",
            "risk_tier_rationale",
            "risk_assessed_by",
            "risk_assessed_at",
            "eu_ai_act_class",
            "eu_annex_iii_point",
            "ethical_considerations",
        ),
    ),
    (
        "Lifecycle",
        (
            "status",
            "status_changed_at",
            "validation_started_at",
            "approved_at",
            "deployed_at",
            "retired_at",
            "retirement_reason",
            "next_review_date",
            "created_by",
            "created_at",
            "updated_at",
        ),
    ),
)


def _overview_groups(model: RegisteredModel) -> list[tuple[str, list[tuple[str, str]]]]:
    groups = []
    for title, names in OVERVIEW_GROUPS:
        rows = []
        for name in names:
            label = model._meta.get_field(name).verbose_name
            if name == "developers":
                value = ", ".join(str(u) for u in model.developers.all())
            else:
                value = _display(model, name)
            rows.append((label[:1].upper() + label[1:], value))
        groups.append((title, rows))
    return groups


def _overview_context(request, model, transition_form=None) -> dict:
    can_transition = request.user.has_perm("inventory.transition_registeredmodel", model)
    if can_transition and transition_form is None:
        transition_form = TransitionForm(
            model=model, provider_name=signature_flow.provider_name_for(request)
        )
    return {
        "groups": _overview_groups(model),
        "can_transition": can_transition,
        "transition_form": transition_form,
    }


@role_required
def model_detail(request, slug: str):
    model = selectors.model_get(user=request.user, slug=slug)
    return render_tab(request, model, tab="overview", context=_overview_context(request, model))


def _transitioned(model: RegisteredModel) -> str:
    return f"{model.name} is now in {model.get_status_display()}."


@role_required
@require_POST
def model_transition(request, slug: str):
    """A direct lifecycle move. One that must be signed is signed with the password, or, for
    a person who signs at the identity provider, there (once the move is known to be
    allowed; ``model_transition_signed`` makes it when the provider answers)."""
    model = selectors.model_get(user=request.user, slug=slug)
    require_perm(request, "inventory.transition_registeredmodel", model)
    form = TransitionForm(
        request.POST, model=model, provider_name=signature_flow.provider_name_for(request)
    )
    if form.is_valid():
        target, reason = form.cleaned_data["target"], form.cleaned_data["reason"]
        try:
            if form.provider_name and services.registered_model_transition_check(
                actor=request.user, model=model, target=target, reason=reason
            ):
                return signature_flow.sign_at_provider(
                    request,
                    purpose=services.TRANSITION_SIGNATURE_PURPOSE,
                    object_id=model.pk,
                    back=model.get_absolute_url(),
                    slug=model.slug,
                    target=target,
                    reason=reason,
                    from_status=model.status,
                )
            model = services.registered_model_transition(
                actor=request.user,
                model=model,
                target=target,
                reason=reason,
                password=form.cleaned_data.get("password") or "",
                http_request=request,
            )
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            messages.success(request, _transitioned(model))
            return redirect(model)
    return render_tab(
        request, model, tab="overview", context=_overview_context(request, model, form), status=200
    )


def model_transition_signed(request, pending: dict, credential, refusal: str) -> HttpResponse:
    """Make the signed lifecycle move ``pending`` describes with the provider's
    ``credential`` (the service checks the token, and refuses a model that is no longer in
    the status the person saw), or audit ``refusal``; either way back to the model's page."""
    model = selectors.model_get(user=request.user, slug=pending["slug"])

    def move(credential) -> str:
        moved = services.registered_model_transition(
            actor=request.user,
            model=model,
            target=pending["target"],
            reason=pending["reason"],
            credential=credential,
            from_status=pending["from_status"],
            http_request=request,
        )
        return _transitioned(moved)

    return signature_flow.signature_completed(
        request,
        pending,
        credential,
        refusal,
        signature=services.transition_signature(model, pending["target"]),
        perform=move,
    )


@role_required
def model_history(request, slug: str):
    model = selectors.model_get(user=request.user, slug=slug)
    require_perm(request, "inventory.view_history_registeredmodel", model)
    # A page at a time by sequence on the (model_ref, sequence) index: no count, no offset.
    # Governance events unless every event is asked for (``?scope=all``).
    scope = audit_selectors.history_scope(request.GET.get("scope"))
    page = audit_selectors.event_page(
        audit_selectors.audit_event_scope(
            audit_selectors.audit_event_list(model_pk=model.pk), scope
        ),
        before=request.GET.get("before"),
        after=request.GET.get("after"),
    )
    context = {
        "page": page,
        "events": audit_selectors.describe_events(page.events),
        "scope": scope,
    }
    return render_tab(request, model, tab="history", context=context)
