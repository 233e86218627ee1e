"""Django's model permissions read in one query (apps/accounts/backends.py)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission

from apps.accounts.backends import ModelBackend
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_direct_and_group_permissions_in_one_query(django_assert_num_queries):
    user = UserFactory(is_staff=True)
    group = Group.objects.create(name="helpdesk")
    group.permissions.add(Permission.objects.get(codename="view_businessunit"))
    user.groups.add(group)
    user.user_permissions.add(Permission.objects.get(codename="view_dataset"))
    with django_assert_num_queries(1):
        perms = ModelBackend().get_all_permissions(user)
        assert ModelBackend().get_all_permissions(user) is perms
    assert perms == {"inventory.view_businessunit", "inventory.view_dataset"}
    assert user.has_perm("inventory.view_businessunit")
    assert user.has_perm("inventory.view_dataset")
    assert not user.has_perm("inventory.delete_dataset")


def test_inactive_users_have_none(django_assert_num_queries):
    user = UserFactory(is_active=False)
    user.user_permissions.add(Permission.objects.get(codename="view_dataset"))
    with django_assert_num_queries(0):
        assert ModelBackend().get_all_permissions(user) == set()


def test_only_staff_have_model_permissions_and_others_cost_no_query(django_assert_num_queries):
    """Model permissions open the admin site, which only staff reach."""
    user = UserFactory(is_staff=False)
    user.user_permissions.add(Permission.objects.get(codename="view_dataset"))
    with django_assert_num_queries(0):
        assert ModelBackend().get_all_permissions(user) == set()
