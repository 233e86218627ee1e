from django.apps import AppConfig


class IdentityConfig(AppConfig):
    name = "apps.identity"
    label = "identity"
    verbose_name = "Identity provider"

    def ready(self) -> None:
        # deferred: what is registered here uses the auth backend, which needs the app registry
        from apps.accounts import signatures, signin
        from apps.identity.signature import SIGNING
        from apps.identity.signin import EXTERNAL

        signin.register_external(EXTERNAL)
        signatures.register_provider(SIGNING)
