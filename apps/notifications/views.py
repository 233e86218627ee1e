"""The user's notification list (with where each thing stands now) and marking as read, one
or all (POST). Each user sees and marks only their own."""

from __future__ import annotations

from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from apps.core.views import paginate, render_page, require_perm, role_required
from apps.notifications import selectors, services


@role_required
def notification_list(request):
    require_perm(request, "notifications.view_notification")
    unread_only = request.GET.get("unread") == "1"
    page = paginate(
        request, selectors.notification_list(user=request.user, unread_only=unread_only)
    )
    notifications = list(page.object_list)
    states = selectors.notification_states(notifications)
    context = {
        "page_obj": page,
        "rows": [(n, states.get(n.pk)) for n in notifications],
        "notifications": notifications,
        "unread_only": unread_only,
        "unread_count": selectors.unread_count(user=request.user),
    }
    return render_page(request, "notifications/notification_list.html", context)


@role_required
@require_POST
def notification_mark_read(request, pk: int):
    notification = selectors.notification_get(user=request.user, pk=pk)
    require_perm(request, "notifications.change_notification", notification)
    services.notification_mark_read(actor=request.user, notification=notification)
    target = request.POST.get("next") or notification.link
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect("notifications:list")


@role_required
@require_POST
def notification_mark_all_read(request):
    require_perm(request, "notifications.change_notification")
    services.notification_mark_all_read(actor=request.user)
    return redirect("notifications:list")
