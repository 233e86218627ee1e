from django.apps import AppConfig


class IdentityConfig(AppConfig):
    name = "apps.identity"
    label = "identity"
    verbose_name = "Identity provider"

    def ready(self) -> None:
        # deferred: the sign-in registered here uses the auth backend, which needs the app registry
        from apps.accounts.signatures import register_provider
        from apps.accounts.signin import register_external
        from apps.identity.signature import SIGNING
        from apps.identity.signin import EXTERNAL

        register_external(EXTERNAL)
        register_provider(SIGNING)
