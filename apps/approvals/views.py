"""Browser pages of the approvals: the approver's inbox, the requester's list, a request's
detail, deciding in place (HTMX, with a plain POST fallback), the policy, the model's
Approvals tab, asking for sign-off and lifting a gate.

Thin: objects come from selectors (invisible ones are 404), permissions from the rules, and
every decision from the engine in ``services``; its refusals are shown on the form.
"""

from __future__ import annotations

from itertools import groupby

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps.accounts import signature_flow, signatures
from apps.approvals import policy, selectors, services
from apps.approvals.choices import ApprovalKind, RequestStatus, Verdict
from apps.approvals.forms import (
    INVENTORY_KINDS,
    ApprovalRequestForm,
    DecisionForm,
    GateLiftForm,
    WithdrawForm,
)
from apps.approvals.models import ApprovalRequest
from apps.approvals.registry import gate_refusal, model_hooks
from apps.core.errors import ApplicationError
from apps.core.forms import add_application_error
from apps.core.tabs import render_tab
from apps.core.views import is_partial, paginate, require_perm, role_required

DECIDE = "approvals.decide_approvalrequest"
REQUEST = "approvals.add_approvalrequest"


# --- signing ------------------------------------------------------------------------------


def signing_slot(*, user, request: ApprovalRequest) -> str | None:
    """The capacity this user would sign in now (decisions must be prefetched)."""
    eligible = selectors.eligible_slots(user=user, request=request)
    remaining = selectors.remaining_slots(request)
    return policy.signing_slot(eligible, remaining, approving=False)


def signing_meaning(*, user, request: ApprovalRequest, slot: str | None, provider: str = "") -> str:
    """What the signature means, shown before signing (the engine records the same words)."""
    who = f"{user.get_full_name() or user.get_username()} ({user.get_username()})"
    capacity = f" as {services.SLOT_LABELS[slot]}" if slot else ""
    how = f"Signing in again at {provider}" if provider else "Entering your password"
    return (
        f"{who}{capacity}, signs to approve, reject or request changes to "
        f"\u201c{request.title}\u201d, content SHA-256 {request.content_sha256}. "
        f"{how} is your electronic signature: it records who decided, when, "
        "on exactly this content, and in which capacity."
    )


def _decision_form(request, approval: ApprovalRequest, data=None) -> DecisionForm:
    return DecisionForm(
        data, prefix=f"r{approval.pk}", provider_name=signature_flow.provider_name_for(request)
    )


def _item(request, approval: ApprovalRequest, form: DecisionForm | None = None) -> dict:
    """One inbox entry: the request, the form and what signing means."""
    user = request.user
    slot = signing_slot(user=user, request=approval)
    form = form or _decision_form(request, approval)
    return {
        "approval": approval,
        "form": form,
        "slot_label": services.SLOT_LABELS.get(slot, "") if slot else "",
        "meaning": signing_meaning(
            user=user, request=approval, slot=slot, provider=form.provider_name
        ),
    }


# --- pages --------------------------------------------------------------------------------


INBOX_PAGE_SIZE = 25
MODEL_TAB_PAGE_SIZE = 25


@role_required
def inbox(request):
    """My approvals: what waits for the user's signature, a page at a time, filtered by kind
    and by the model's name."""
    waiting = selectors.waiting_queryset(user=request.user)
    kind = request.GET.get("kind", "")
    if kind not in ApprovalKind.values:
        kind = ""
    search = request.GET.get("q", "").strip()
    filtered = selectors.waiting_filter(waiting, kind=kind, model_name=search)
    page = paginate(request, filtered.prefetch_related("decisions"), per_page=INBOX_PAGE_SIZE)
    context = {
        "page_obj": page,
        "items": [_item(request, approval) for approval in page.object_list],
        "kinds": ApprovalKind.choices,
        "kind": kind,
        "q": search,
        "filtered": bool(kind or search),
    }
    if not context["filtered"]:
        # The page's count is the badge's: the navigation reads it without asking again.
        context["approvals_waiting"] = page.paginator.count
    return render(request, "approvals/inbox.html", context)


@role_required
def my_requests(request):
    require_perm(request, "approvals.view_approvalrequest")
    requests = selectors.my_requests(user=request.user).prefetch_related("decisions")
    page = paginate(request, requests)
    return render(
        request, "approvals/my_requests.html", {"page_obj": page, "requests": page.object_list}
    )


def _detail_context(request, approval: ApprovalRequest, form: DecisionForm | None = None):
    user = request.user
    refusal = selectors.decision_refusal(user=user, request=approval)
    context = {
        "approval": approval,
        "decisions": list(approval.decisions.all()),
        "slots": selectors.slot_rows(approval),
        "stale": selectors.is_stale(approval),
        "compare": selectors.compare_rows(approval),
        "refusal": refusal if approval.is_open else None,
        "can_withdraw": approval.is_open
        and user.has_perm("approvals.withdraw_approvalrequest", approval),
    }
    if approval.is_open and refusal is None:
        context["item"] = _item(request, approval, form)
    return context


def _get(request, pk: int) -> ApprovalRequest:
    approval = selectors.request_get(user=request.user, pk=pk)
    require_perm(request, "approvals.view_approvalrequest", approval)
    return approval


@role_required
def request_detail(request, pk: int):
    approval = _get(request, pk)
    return render(request, "approvals/request_detail.html", _detail_context(request, approval))


@role_required
def request_compare(request, pk: int):
    """What the request changes against what is in force (loaded into the inbox by HTMX)."""
    approval = _get(request, pk)
    context = {"approval": approval, "compare": selectors.compare_rows(approval)}
    return render(request, "approvals/_compare.html", context)


@role_required
@require_POST
def request_decide(request, pk: int):
    """Sign a decision. HTMX swaps the inbox entry in place; a plain POST redirects."""
    approval = _get(request, pk)
    require_perm(request, DECIDE, approval)
    form = _decision_form(request, approval, data=request.POST)
    decision = None
    if form.is_valid() and form.provider_name:
        # Refused now, refused after the provider too: say so before sending the person there.
        refusal = selectors.signing_refusal(user=request.user, request=approval)
        if refusal is None:
            # decision_signed records it when the provider answers.
            return signature_flow.sign_at_provider(
                request,
                purpose=services.SIGNATURE_PURPOSE,
                object_id=approval.pk,
                back=approval.get_absolute_url(),
                verdict=form.cleaned_data["verdict"],
                comment=form.cleaned_data["comment"],
                content_sha256=approval.content_sha256,
            )
        form.add_error(None, refusal)
    elif form.is_valid():
        try:
            decision = services.approval_decide(
                actor=request.user,
                request=approval,
                verdict=form.cleaned_data["verdict"],
                password=form.cleaned_data["password"],
                comment=form.cleaned_data["comment"],
                http_request=request,
            )
        except ApplicationError as exc:
            add_application_error(form, exc)
    if decision is not None:
        approval = selectors.request_get(user=request.user, pk=pk)
        text = _signed_text(approval, decision)
        if is_partial(request):
            context = {
                "approval": approval,
                "decision": decision,
                "done": text,
                "waiting_count": selectors.waiting_count(user=request.user),
            }
            return render(request, "approvals/_inbox_item_done.html", context)
        messages.success(request, text)
        return redirect("approvals:inbox")
    approval = selectors.request_get(user=request.user, pk=pk)
    if is_partial(request):
        return render(
            request, "approvals/_inbox_item.html", {"item": _item(request, approval, form)}
        )
    return render(
        request, "approvals/request_detail.html", _detail_context(request, approval, form)
    )


def _signed_text(approval: ApprovalRequest, decision) -> str:
    verdict = Verdict(decision.verdict).label.lower()
    text = f"Your decision ({verdict}) on \u201c{approval.title}\u201d has been signed."
    if approval.status == RequestStatus.APPROVED:
        text += " The quorum is met and the change has taken effect."
    return text


def decision_signed(request, pending: dict, credential, refusal: str) -> HttpResponse:
    """Record the decision ``pending`` describes with the provider's ``credential``, or
    audit ``refusal``; either way back to the request's page, saying what happened. The
    engine checks the token (``apps.accounts.signatures.sign``) before anything is written,
    and refuses a request whose content is not the one the signer saw."""
    approval = _get(request, int(pending["object_id"]))

    def decide(credential) -> str:
        decision = services.approval_decide(
            actor=request.user,
            request=approval,
            verdict=pending["verdict"],
            comment=pending["comment"],
            credential=credential,
            content_sha256=pending["content_sha256"],
            http_request=request,
        )
        return _signed_text(selectors.request_get(user=request.user, pk=approval.pk), decision)

    return signature_flow.signature_completed(
        request,
        pending,
        credential,
        refusal,
        signature=services.signature_attempt(approval),
        perform=decide,
    )


def register_signature_completions() -> None:
    """What records a decision signed at the identity provider (``AppConfig.ready``)."""
    signatures.register_completion(services.SIGNATURE_PURPOSE, decision_signed)


@role_required
@require_POST
def request_withdraw(request, pk: int):
    approval = _get(request, pk)
    require_perm(request, "approvals.withdraw_approvalrequest", approval)
    form = WithdrawForm(request.POST)
    form.is_valid()
    try:
        services.approval_withdraw(
            actor=request.user, request=approval, reason=form.cleaned_data.get("reason", "")
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "The request has been withdrawn.")
    return redirect(approval)


@role_required
def policy_page(request):
    """Who must approve what, by kind and tier: the same table the engine applies."""
    rows = policy.policy_table()
    kinds = [(label, list(group)) for label, group in groupby(rows, key=lambda r: r["kind_label"])]
    return render(request, "approvals/policy.html", {"kinds": kinds})


# --- the model's Approvals tab ------------------------------------------------------------


def _model_tab(request, model, *, request_form=None, status: int = 200):
    user = request.user
    requests = selectors.model_requests(user=user, model=model).prefetch_related("decisions")
    page = paginate(request, requests, per_page=MODEL_TAB_PAGE_SIZE)
    can_request = user.has_perm(REQUEST, model)
    if can_request and request_form is None:
        request_form = _request_form(request, model, data=None)
    context = {
        "approvals": page.object_list,
        "page_obj": page,
        "can_request": can_request,
        "request_form": request_form,
        # Offered only when the engine would accept it now (the form's rules).
        "can_request_retirement": request_form is not None
        and ApprovalKind.RETIREMENT in dict(request_form.fields["kind"].choices),
        "gate_refusal": gate_refusal(model),
        "overrides": selectors.gate_override_list(model=model),
        "can_lift_gate": user.has_perm("approvals.lift_gate", model),
    }
    return render_tab(request, model, tab="approvals", context=context, status=status)


def _request_form(request, model, *, data) -> ApprovalRequestForm:
    """The request form, offering only what the engine would accept now (the hooks' rules)."""
    hooks = model_hooks()
    # The form names versions only: their dataset links are not read here.
    versions = list(
        hooks.versions(user=request.user, model=model)
        .prefetch_related(None)
        .order_by("-created_at")
    )
    refusals = (
        hooks.request_refusals(user=request.user, model=model, versions=versions)
        if hooks.request_refusals is not None
        else None
    )
    initial = {"kind": request.GET.get("kind"), "version": request.GET.get("version")}
    return ApprovalRequestForm(
        data,
        versions=versions,
        kinds=INVENTORY_KINDS,
        refusals=refusals,
        model=model,
        initial=initial,
    )


@role_required
def model_approvals(request, slug: str):
    model = model_hooks().get(user=request.user, slug=slug)
    require_perm(request, "approvals.view_approvalrequest", model)
    return _model_tab(request, model)


@role_required
@require_POST
def request_create(request, slug: str):
    """Ask for a validation sign-off, a promotion or a retirement; gates answer on the form."""
    model = model_hooks().get(user=request.user, slug=slug)
    require_perm(request, REQUEST, model)
    form = _request_form(request, model, data=request.POST)
    if form.is_valid():
        kind = form.cleaned_data["kind"]
        subject = model if kind == ApprovalKind.RETIREMENT else form.cleaned_data["subject"]
        try:
            approval = services.approval_request_create(
                actor=request.user,
                kind=kind,
                subject=subject,
                justification=form.cleaned_data["justification"],
            )
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            messages.success(
                request, f"Requested: {approval.title}. The approvers have been asked."
            )
            return redirect(approval)
    return _model_tab(request, model, request_form=form)


@role_required
def gate_lift(request, slug: str):
    """An administrator lifts a gate for this model, for a limited time, with a reason."""
    model = model_hooks().get(user=request.user, slug=slug)
    require_perm(request, "approvals.lift_gate", model)
    form = GateLiftForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            override = services.gate_lift(actor=request.user, model=model, **form.cleaned_data)
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            messages.success(
                request,
                f"{override.get_gate_display()}: lifted until {override.expires_at:%d %b %Y}.",
            )
            return redirect("approvals:model_approvals", slug=model.slug)
    return render(
        request,
        "approvals/gate_lift.html",
        {"model": model, "form": form, "gate_refusal": gate_refusal(model)},
    )
