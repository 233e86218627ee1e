from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo data and its story (``seed_demo``, ``demo_logins``): on top of every other
    app, written only through their services; nothing imports it."""

    name = "apps.demo"
    label = "demo"
    verbose_name = "Demo data"
