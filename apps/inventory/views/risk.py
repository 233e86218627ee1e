"""The model's risk tab: the questionnaire and the validators' tier proposals."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from apps.approvals.choices import RequestStatus
from apps.core.errors import ApplicationError
from apps.core.forms import add_application_error
from apps.core.tabs import render_tab
from apps.core.views import require_perm, role_required
from apps.inventory import selectors, services
from apps.inventory.choices import RiskAssessmentStatus
from apps.inventory.forms import RiskDecisionForm, RiskQuestionnaireForm


def _risk_context(request, model, *, questionnaire=None, decision_forms=None) -> dict:
    user = request.user
    assessments = list(selectors.risk_assessment_list(model=model))
    can_assess = user.has_perm("inventory.assess_risk_registeredmodel", model)
    can_decide = user.has_perm("inventory.decide_risk_registeredmodel", model)
    decision_forms = decision_forms or {}
    rows = []
    for assessment in assessments:
        form = None
        # A proposal whose request went stale or was withdrawn can be made again.
        reproposable = assessment.status == RiskAssessmentStatus.AWAITING_APPROVAL and (
            assessment.approval_request_status != "pending"
        )
        if can_decide and (assessment.status == RiskAssessmentStatus.PENDING or reproposable):
            form = decision_forms.get(assessment.pk) or RiskDecisionForm(
                initial={"tier": assessment.suggested_tier}, prefix=f"decide-{assessment.pk}"
            )
        status = assessment.approval_request_status
        assessment.approval_request_label = RequestStatus(status).label if status else ""
        rows.append((assessment, form))
    if can_assess and questionnaire is None:
        questionnaire = RiskQuestionnaireForm(
            initial={
                "eu_ai_act_class": model.eu_ai_act_class,
                "eu_annex_iii_point": model.eu_annex_iii_point,
            }
        )
    return {
        "assessments": rows,
        "can_assess": can_assess,
        "can_decide": can_decide,
        "questionnaire": questionnaire,
    }


@role_required
def model_risk(request, slug: str):
    model = selectors.model_get(user=request.user, slug=slug)
    return render_tab(request, model, tab="risk", context=_risk_context(request, model))


@role_required
@require_POST
def risk_assess(request, slug: str):
    model = selectors.model_get(user=request.user, slug=slug)
    require_perm(request, "inventory.assess_risk_registeredmodel", model)
    form = RiskQuestionnaireForm(request.POST)
    if form.is_valid():
        try:
            assessment = services.risk_assessment_submit(
                actor=request.user,
                model=model,
                answers=form.answers(),
                eu_ai_act_class=form.cleaned_data["eu_ai_act_class"],
                eu_annex_iii_point=form.cleaned_data["eu_annex_iii_point"],
            )
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            messages.success(
                request,
                f"Assessment recorded: suggested Tier {assessment.suggested_tier}. "
                "A validator confirms or overrides it.",
            )
            return redirect("inventory:model_risk", slug=model.slug)
    return render_tab(
        request, model, tab="risk", context=_risk_context(request, model, questionnaire=form)
    )


@role_required
@require_POST
def risk_decide(request, slug: str, pk: int):
    model = selectors.model_get(user=request.user, slug=slug)
    require_perm(request, "inventory.decide_risk_registeredmodel", model)
    assessment = selectors.risk_assessment_list(model=model).filter(pk=pk).first()
    if assessment is None:
        raise Http404("No such assessment.")
    form = RiskDecisionForm(request.POST, prefix=f"decide-{pk}")
    if form.is_valid():
        try:
            services.risk_assessment_decide(
                actor=request.user,
                assessment=assessment,
                tier=form.cleaned_data["tier"],
                reason=form.cleaned_data["reason"],
            )
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            messages.success(
                request,
                f"Tier {form.cleaned_data['tier']} proposed for {model}; another validator "
                "approves it before it applies.",
            )
            return redirect("inventory:model_risk", slug=model.slug)
    return render_tab(
        request, model, tab="risk", context=_risk_context(request, model, decision_forms={pk: form})
    )
