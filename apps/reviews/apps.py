from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    name = "apps.reviews"
    label = "reviews"
    verbose_name = "Periodic reviews and findings"

    def ready(self) -> None:
        from apps.reviews.approvals import register_kinds

        register_kinds()
