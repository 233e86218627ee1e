from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "apps.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from apps.accounts.receivers import ensure_role_groups

        post_migrate.connect(ensure_role_groups, sender=self, dispatch_uid="accounts.role_groups")
