from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ReviewsConfig(AppConfig):
    name = "apps.reviews"
    label = "reviews"
    verbose_name = "Periodic reviews and findings"

    def ready(self) -> None:
        # deferred: apps.core.tabs loads the shared views, which need the app registry ready
        from apps.core.tabs import Tab, register_tab
        from apps.reviews.approvals import register_kinds
        from apps.reviews.health import register_health_facts
        from apps.reviews.receivers import ensure_default_cadences

        post_migrate.connect(
            ensure_default_cadences, sender=self, dispatch_uid="reviews.default_cadences"
        )
        register_kinds()
        register_health_facts()
        register_tab(
            "inventory.registeredmodel",
            Tab(
                key="reviews",
                label="Reviews",
                url_name="reviews:model_reviews",
                template="reviews/tab_reviews.html",
                order=80,
                permission="reviews.view_review",
            ),
        )

        from apps.reviews.audit import register_audit_links

        register_audit_links()

        from apps.reviews.notification_states import register_notification_states

        register_notification_states()
