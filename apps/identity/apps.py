from django.apps import AppConfig


class IdentityConfig(AppConfig):
    name = "apps.identity"
    label = "identity"
    verbose_name = "Identity provider"

    def ready(self) -> None:
        from apps.accounts.signin import register_external
        from apps.identity.signin import EXTERNAL

        register_external(EXTERNAL)
