"""The role groups come back after a flush (it sends post_migrate), as Django's permissions do."""

import pytest
from django.contrib.auth.models import Group
from django.core.management.sql import emit_post_migrate_signal

from apps.core.roles import ALL_ROLES

pytestmark = pytest.mark.django_db


def test_the_role_groups_are_made_again_after_the_tables_are_emptied():
    Group.objects.all().delete()
    emit_post_migrate_signal(verbosity=0, interactive=False, db="default")
    assert sorted(Group.objects.values_list("name", flat=True)) == sorted(ALL_ROLES)


def test_making_them_again_changes_nothing_when_they_exist():
    before = dict(Group.objects.values_list("name", "pk"))
    emit_post_migrate_signal(verbosity=0, interactive=False, db="default")
    assert dict(Group.objects.values_list("name", "pk")) == before
