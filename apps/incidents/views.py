"""Browser pages of the incident register. Thin: rules permission, selector, service.

Incidents of a model the user cannot see answer 404; visible ones the user may not change
answer 403.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps.accounts import signature_flow, signatures
from apps.core import clock
from apps.core.errors import ApplicationError
from apps.core.forms import add_application_error
from apps.core.tabs import render_tab
from apps.core.views import paginate, render_page, require_perm, role_required
from apps.incidents import selectors, services
from apps.incidents.choices import ACTIVE_STATUSES
from apps.incidents.filters import IncidentFilter
from apps.incidents.forms import (
    CommentForm,
    IncidentCreateForm,
    IncidentUpdateForm,
    RollbackForm,
    TransitionForm,
)
from apps.inventory import selectors as inventory_selectors

FILTER_KEYS = frozenset(IncidentFilter.base_filters)


def _filter_data(request) -> QueryDict:
    """The query string, or the active incidents when no filter was chosen."""
    if FILTER_KEYS & set(request.GET):
        return request.GET
    data = request.GET.copy()
    data.setlist("status", [str(s) for s in ACTIVE_STATUSES])
    return data


@role_required
def incident_list(request):
    require_perm(request, "incidents.view_incident")
    filterset = IncidentFilter(
        _filter_data(request),
        queryset=selectors.incident_list(user=request.user),
        request=request,
    )
    filterset.form.fields["ordering"].empty_label = "Newest first"
    page = paginate(request, filterset.qs, keys_first=True)
    now = clock.now()
    context = {
        "filterset": filterset,
        "form": filterset.form,
        "page_obj": page,
        "rows": [(i, selectors.countdown_of(i, now)) for i in page.object_list],
        "can_create": request.user.has_perm("incidents.add_incident"),
    }
    return render_page(
        request, "incidents/incident_list.html", context, partial="incidents/_results.html"
    )


@role_required
def model_incidents(request, slug: str):
    """The Incidents tab of the model page: its incidents, those still open first."""
    model = inventory_selectors.model_get(user=request.user, slug=slug)
    require_perm(request, "incidents.view_incident", model)
    page = paginate(request, selectors.model_incidents(user=request.user, model=model))
    now = clock.now()
    context = {
        "page_obj": page,
        "rows": [(i, selectors.countdown_of(i, now)) for i in page.object_list],
        "can_create": request.user.has_perm("incidents.add_incident", model),
    }
    return render_tab(request, model, tab="incidents", context=context)


@role_required
def incident_create(request):
    require_perm(request, "incidents.add_incident")
    models = selectors.models_for_new_incident(user=request.user)
    initial = {"severity": "sev3"}
    if request.GET.get("model"):
        initial["model"] = models.filter(slug=request.GET["model"]).first()
    form = IncidentCreateForm(request.POST or None, models=models, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            incident = services.incident_create(actor=request.user, **form.service_data())
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            messages.success(request, f"Incident {incident.reference} has been opened.")
            return redirect(incident)
    return render(request, "incidents/incident_form.html", {"form": form, "incident": None})


def _detail_context(request, incident, **forms) -> dict:
    user = request.user
    can_change = user.has_perm("incidents.change_incident", incident)
    can_transition = user.has_perm("incidents.transition_incident", incident)
    can_comment = user.has_perm("incidents.comment_incident", incident)
    can_rollback = user.has_perm("incidents.rollback_incident", incident)
    rollback_form = forms.get("rollback_form") or (
        RollbackForm(provider_name=signature_flow.provider_name_for(request))
        if can_rollback and incident.status in ACTIVE_STATUSES
        else None
    )
    # What a rollback would do is read only when its form is shown.
    current, target = (
        selectors.rollback_plan(incident) if rollback_form is not None else (None, None)
    )
    return {
        "incident": incident,
        "countdown": selectors.countdown_of(incident),
        "breaches": selectors.incident_breaches(incident=incident),
        "versions": selectors.incident_versions(incident=incident),
        "timeline": selectors.incident_timeline(incident=incident),
        "can_change": can_change,
        "transition_form": forms.get("transition_form")
        or (TransitionForm(current=incident.status) if can_transition else None),
        "comment_form": forms.get("comment_form") or (CommentForm() if can_comment else None),
        "rollback_form": rollback_form,
        "rollback_from": current,
        "rollback_to": target,
    }


@role_required
def incident_detail(request, reference: str):
    incident = selectors.incident_get(user=request.user, reference=reference)
    return render(request, "incidents/incident_detail.html", _detail_context(request, incident))


@role_required
def incident_edit(request, reference: str):
    incident = selectors.incident_get(user=request.user, reference=reference)
    require_perm(request, "incidents.change_incident", incident)
    form = IncidentUpdateForm(request.POST or None, instance=incident)
    if request.method == "POST" and form.is_valid():
        try:
            services.incident_update(actor=request.user, incident=incident, **form.service_data())
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            messages.success(request, "The incident has been saved.")
            return redirect(incident)
    incident.refresh_from_db()
    return render(request, "incidents/incident_form.html", {"form": form, "incident": incident})


def _action_view(*, perm: str, form_class, form_key: str, service, done: str):
    """A POST-only view of a detail-page form: check, validate, call the service, redirect;
    on refusal the page again with the form's errors (400)."""

    @role_required
    @require_POST
    def view(request, reference: str):
        incident = selectors.incident_get(user=request.user, reference=reference)
        require_perm(request, perm, incident)
        kwargs = {"current": incident.status} if form_class is TransitionForm else {}
        form = form_class(request.POST, **kwargs)
        if form.is_valid():
            try:
                service(actor=request.user, incident=incident, **form.cleaned_data)
            except ApplicationError as exc:
                add_application_error(form, exc)
            else:
                messages.success(request, done)
                return redirect(incident)
        context = _detail_context(request, incident, **{form_key: form})
        return render(request, "incidents/incident_detail.html", context, status=400)

    return view


incident_transition = _action_view(
    perm="incidents.transition_incident",
    form_class=TransitionForm,
    form_key="transition_form",
    service=services.incident_transition,
    done="The incident's status has been changed.",
)
incident_comment = _action_view(
    perm="incidents.comment_incident",
    form_class=CommentForm,
    form_key="comment_form",
    service=services.incident_comment,
    done="Your comment has been added.",
)


def _rolled_back(event) -> str:
    return (
        f"{event.data['to']} is back in production in place of {event.data['from']}, "
        f"signed by you ({event.data['signed']}); its ratification has been requested."
    )


@role_required
@require_POST
def incident_rollback(request, reference: str):
    """The signed emergency rollback; a refusal shows the page again (400). A person who
    signs at the identity provider is sent there (``rollback_signed`` completes it), once
    the rollback is known to be allowed and bound to the version they saw offered."""
    incident = selectors.incident_get(user=request.user, reference=reference)
    require_perm(request, "incidents.rollback_incident", incident)
    form = RollbackForm(request.POST, provider_name=signature_flow.provider_name_for(request))
    if form.is_valid() and form.provider_name:
        current, target = selectors.rollback_plan(incident)
        expected = form.cleaned_data["expected_version"] or (target.version if target else "")
        refusal = selectors.rollback_refusal(
            incident, current=current, target=target, expected_version=expected
        )
        if refusal is None:
            return signature_flow.sign_at_provider(
                request,
                purpose=services.ROLLBACK_SIGNATURE_PURPOSE,
                object_id=incident.pk,
                back=incident.get_absolute_url(),
                reference=incident.reference,
                reason=form.cleaned_data["reason"],
                expected_version=expected,
            )
        form.add_error(None, refusal)
    elif form.is_valid():
        try:
            event = services.incident_rollback(
                actor=request.user, incident=incident, http_request=request, **form.cleaned_data
            )
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            messages.success(request, _rolled_back(event))
            return redirect(incident)
    context = _detail_context(request, incident, rollback_form=form)
    return render(request, "incidents/incident_detail.html", context, status=400)


def rollback_signed(request, pending: dict, credential, refusal: str) -> HttpResponse:
    """Make the rollback ``pending`` describes with the provider's ``credential`` (the
    service checks the token, and refuses a plan that no longer restores the version the
    person saw), or audit ``refusal``; either way back to the incident's page."""
    incident = selectors.incident_get(user=request.user, reference=pending["reference"])

    def roll_back(credential) -> str:
        event = services.incident_rollback(
            actor=request.user,
            incident=incident,
            reason=pending["reason"],
            credential=credential,
            expected_version=pending["expected_version"],
            http_request=request,
        )
        return _rolled_back(event)

    return signature_flow.signature_completed(
        request,
        pending,
        credential,
        refusal,
        signature=services.rollback_signature(incident),
        perform=roll_back,
    )


def register_signature_completions() -> None:
    """What makes a rollback signed at the identity provider (``AppConfig.ready``)."""
    signatures.register_completion(services.ROLLBACK_SIGNATURE_PURPOSE, rollback_signed)
