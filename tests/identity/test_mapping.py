"""The one mapping from provider groups to mlgov roles: the environment's pairs and the
administrators' table."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from apps.core import roles
from apps.identity.mapping import map_groups, parse_group_role, roles_for_groups
from apps.identity.models import GroupRoleMapping
from mlgov.env import env_parsed_list


def test_it_reads_group_equals_role():
    assert parse_group_role(" mlgov-validators = validator ") == ("mlgov-validators", "validator")
    # The group is everything before the last "=", as LDAP-style names need.
    assert parse_group_role("CN=risk=auditor") == ("CN=risk", "auditor")


@pytest.mark.parametrize("entry", ["validator", "=validator", "team=superuser", "team="])
def test_it_refuses_an_entry_that_is_not_group_equals_role(entry):
    with pytest.raises(ValueError, match=repr(entry)):
        parse_group_role(entry)


def test_a_bad_environment_value_stops_the_start_up(monkeypatch):
    monkeypatch.setenv("MLGOV_OIDC_GROUP_ROLES", "risk=validator,ops=root")
    with pytest.raises(ImproperlyConfigured, match="MLGOV_OIDC_GROUP_ROLES: 'ops=root'"):
        env_parsed_list("MLGOV_OIDC_GROUP_ROLES", parse_group_role)


def test_it_maps_only_the_groups_held():
    pairs = [("risk", "validator"), ("audit", "auditor"), ("risk", "viewer")]
    assert map_groups(["risk", "payroll"], pairs) == {"validator", "viewer"}
    assert map_groups([], pairs) == frozenset()
    # Spelled exactly as the provider sends it.
    assert map_groups(["Risk"], pairs) == frozenset()


@pytest.mark.django_db
def test_it_joins_the_environment_and_the_table(settings):
    settings.MLGOV_OIDC_GROUP_ROLES = (("risk", roles.VALIDATOR),)
    GroupRoleMapping.objects.create(group="audit", role=roles.AUDITOR)
    assert roles_for_groups(["risk", "audit", "other"]) == {roles.VALIDATOR, roles.AUDITOR}
    assert roles_for_groups(["audit"]) == {roles.AUDITOR}
    assert roles_for_groups(["nobody-maps-this"]) == frozenset()
