"""Model versions: the versions tab, register, view, edit and move between stages."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps.accounts import signature_flow
from apps.approvals.choices import ApprovalKind
from apps.core.errors import ApplicationError
from apps.core.forms import add_application_error
from apps.core.tabs import render_tab
from apps.core.views import require_perm, role_required
from apps.inventory import lifecycle, selectors, services
from apps.inventory import rules as inventory_rules
from apps.inventory.approvals import request_refusals
from apps.inventory.choices import VersionStage
from apps.inventory.forms import ModelVersionForm, VersionStageForm
from apps.inventory.models import ModelVersion
from apps.inventory.version_sections import version_sections


@role_required
def model_versions(request, slug: str):
    model = selectors.model_get(user=request.user, slug=slug)
    versions = selectors.version_list(user=request.user, model=model).order_by("-created_at")
    context = {
        "versions": versions,
        "can_add_version": request.user.has_perm("inventory.add_modelversion", model),
    }
    return render_tab(request, model, tab="versions", context=context)


def _version_form(request, model, *, instance=None):
    return ModelVersionForm(
        request.POST or None,
        instance=instance or ModelVersion(model=model),
        datasets=selectors.dataset_list(user=request.user),
    )


@role_required
def version_create(request, slug: str):
    model = selectors.model_get(user=request.user, slug=slug)
    require_perm(request, "inventory.add_modelversion", model)
    form = _version_form(request, model)
    if request.method == "POST" and form.is_valid():
        try:
            version = services.model_version_register(
                actor=request.user,
                model=model,
                version=form.cleaned_data["version"],
                **form.service_data(),
            )
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            messages.success(request, f"Version {version.version} has been registered.")
            return redirect("inventory:version_detail", slug=model.slug, version=version.version)
    return render(
        request, "inventory/version_form.html", {"form": form, "model": model, "version": None}
    )


@role_required
def version_detail(request, slug: str, version: str):
    model = selectors.model_get(user=request.user, slug=slug)
    obj = selectors.version_get(user=request.user, model=model, version=version)
    return render(request, "inventory/version_detail.html", _version_context(request, model, obj))


def _offer_moves(request, model, obj, form: VersionStageForm) -> VersionStageForm:
    """Keep among the form's stages those the service would move the version to for this
    user (``lifecycle.stage_move_refusal``, ``rules.may_move_version``): production, for
    one, is reached by a promotion request, never offered here. A posted form is checked by
    the service whatever it names; this is what the page offers."""
    form.fields["stage"].choices = [
        (value, label)
        for value, label in form.fields["stage"].choices
        if lifecycle.stage_move_refusal(
            current=obj.stage,
            target=value,
            model_status=model.status,
            version=obj.version,
            model=str(model),
        )
        is None
        and inventory_rules.may_move_version(request.user, obj, value)
    ]
    return form


def _version_context(request, model, obj, stage_form=None) -> dict:
    user = request.user
    may_stage = user.has_perm("inventory.stage_modelversion", obj)
    if stage_form is None and may_stage:
        stage_form = VersionStageForm(
            version=obj, provider_name=signature_flow.provider_name_for(request)
        )
    if stage_form is not None:
        stage_form = _offer_moves(request, model, obj, stage_form)
    # Requests offered only when the engine would accept them; otherwise the reason.
    refusals = request_refusals(user=user, model=model, versions=[obj])
    return {
        "model": model,
        "version": obj,
        "links": list(obj.dataset_links.all()),
        "deployments": selectors.deployment_list(user=user, model=model).filter(version=obj),
        "can_edit": not obj.is_locked and user.has_perm("inventory.change_modelversion", obj),
        # Shown with a move to offer, or to say why a posted move was refused.
        "stage_form": (
            stage_form
            if stage_form is not None and (stage_form.fields["stage"].choices or stage_form.errors)
            else None
        ),
        "stage_note": (
            lifecycle.stage_move_refusal(
                current=obj.stage,
                target=VersionStage.ARCHIVED,
                model_status=model.status,
                version=obj.version,
                model=str(model),
            )
            if may_stage
            else None
        ),
        "can_request_signoff": user.has_perm("approvals.add_approvalrequest", model),
        "validation_refusal": refusals[(ApprovalKind.VALIDATION_SIGNOFF, obj.pk)],
        "promotion_refusal": refusals[(ApprovalKind.PROMOTION, obj.pk)],
        "sections": version_sections(request, obj),
    }


@role_required
def version_edit(request, slug: str, version: str):
    model = selectors.model_get(user=request.user, slug=slug)
    obj = selectors.version_get(user=request.user, model=model, version=version)
    if obj.is_locked:
        messages.error(
            request,
            f"Version {obj.version} was approved and is immutable; register a new version instead.",
        )
        return redirect(obj)
    require_perm(request, "inventory.change_modelversion", obj)
    form = _version_form(request, model, instance=obj)
    if request.method == "POST" and form.is_valid():
        try:
            services.model_version_update(actor=request.user, version=obj, **form.service_data())
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            messages.success(request, f"Version {obj.version} has been updated.")
            return redirect("inventory:version_detail", slug=model.slug, version=obj.version)
    return render(
        request, "inventory/version_form.html", {"form": form, "model": model, "version": obj}
    )


def _moved(version: ModelVersion) -> str:
    return f"Version {version.version} is now {version.get_stage_display()}."


@role_required
@require_POST
def version_stage(request, slug: str, version: str):
    """Move a version to another stage. Taking it out of production is signed: with the
    password, or, for a person who signs at the identity provider, there (once the move is
    known to be allowed; ``version_stage_signed`` makes it when the provider answers)."""
    model = selectors.model_get(user=request.user, slug=slug)
    obj = selectors.version_get(user=request.user, model=model, version=version)
    # May move this version at all; the move itself is checked by the service.
    require_perm(request, "inventory.stage_modelversion", obj)
    form = VersionStageForm(
        request.POST, version=obj, provider_name=signature_flow.provider_name_for(request)
    )
    if form.is_valid():
        stage = form.cleaned_data["stage"]
        try:
            if form.signed and form.provider_name:
                services.model_version_stage_check(actor=request.user, version=obj, stage=stage)
                return signature_flow.sign_at_provider(
                    request,
                    purpose=services.STAGE_SIGNATURE_PURPOSE,
                    object_id=obj.pk,
                    back=obj.get_absolute_url(),
                    slug=model.slug,
                    version=obj.version,
                    stage=stage,
                    from_stage=obj.stage,
                )
            obj = services.model_version_set_stage(
                actor=request.user,
                version=obj,
                stage=stage,
                password=form.cleaned_data.get("password") or "",
                http_request=request,
            )
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            messages.success(request, _moved(obj))
            return redirect("inventory:version_detail", slug=model.slug, version=obj.version)
    return render(
        request, "inventory/version_detail.html", _version_context(request, model, obj, form)
    )


def version_stage_signed(request, pending: dict, credential, refusal: str) -> HttpResponse:
    """Make the move out of production ``pending`` describes with the provider's
    ``credential`` (the service checks the token, and refuses a version that is no longer in
    the stage the person saw), or audit ``refusal``; either way back to the version's page."""
    model = selectors.model_get(user=request.user, slug=pending["slug"])
    obj = selectors.version_get(user=request.user, model=model, version=pending["version"])

    def move(credential) -> str:
        moved = services.model_version_set_stage(
            actor=request.user,
            version=obj,
            stage=pending["stage"],
            credential=credential,
            from_stage=pending["from_stage"],
            http_request=request,
        )
        return _moved(moved)

    return signature_flow.signature_completed(
        request,
        pending,
        credential,
        refusal,
        signature=services.stage_signature(obj, pending["stage"]),
        perform=move,
    )
