"""The role groups exist whenever the database has been migrated or flushed.

The data migration ``accounts.0002_roles`` creates them once; ``manage.py flush`` (and a test
run's flush between transactional tests) empties every table and then sends ``post_migrate``,
so they are made again here, as Django makes its permissions again, and no account is left
without the role it was given.
"""

from __future__ import annotations

from django.apps import apps as global_apps

from apps.core.roles import ALL_ROLES


def ensure_role_groups(sender, *, using: str = "default", apps=global_apps, **kwargs) -> None:
    try:
        group = apps.get_model("auth", "Group")
    except LookupError:  # migrating a state without the auth app
        return
    for name in ALL_ROLES:
        group.objects.using(using).get_or_create(name=name)
