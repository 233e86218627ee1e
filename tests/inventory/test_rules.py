"""The one place that decides "may this user do X to this object", persona by persona."""

from __future__ import annotations

import pytest

from tests.factories import DatasetFactory, ModelVersionFactory

PERSONAS = [
    "admin_user",
    "validator",
    "business_owner",
    "model_owner",
    "other_model_owner",
    "auditor",
    "viewer",
    "outsider",
]


def _allowed(request, perm: str, obj) -> set[str]:
    return {p for p in PERSONAS if request.getfixturevalue(p).has_perm(perm, obj)}


EVERYONE_WITH_A_ROLE = set(PERSONAS) - {"outsider"}
OVERSIGHT = {"admin_user", "validator", "auditor", "viewer"}

MODEL_PERMS = {
    "inventory.view_registeredmodel": OVERSIGHT | {"model_owner", "business_owner"},
    "inventory.change_registeredmodel": {
        "admin_user",
        "validator",
        "model_owner",
        "business_owner",
    },
    "inventory.delete_registeredmodel": {"admin_user"},
    "inventory.assess_risk_registeredmodel": {"admin_user", "validator", "model_owner"},
    "inventory.decide_risk_registeredmodel": {"admin_user", "validator"},
    "inventory.transition_registeredmodel": {"admin_user", "validator", "model_owner"},
    "inventory.view_history_registeredmodel": {"admin_user", "validator", "auditor"},
    "inventory.register_version_registeredmodel": {"admin_user", "model_owner"},
    "inventory.add_modelversion": {"admin_user", "model_owner"},
    "inventory.add_modeldependency": {
        "admin_user",
        "validator",
        "model_owner",
        "business_owner",
    },
}


@pytest.mark.parametrize(("perm", "expected"), sorted(MODEL_PERMS.items()))
def test_model_permissions_per_persona(request, owned_model, perm, expected):
    assert _allowed(request, perm, owned_model) == expected


@pytest.mark.parametrize(
    ("perm", "expected"),
    [
        ("inventory.view_registeredmodel", OVERSIGHT),
        ("inventory.change_registeredmodel", {"admin_user", "validator"}),
        ("inventory.assess_risk_registeredmodel", {"admin_user", "validator"}),
        ("inventory.transition_registeredmodel", {"admin_user", "validator"}),
        ("inventory.add_modelversion", {"admin_user"}),
    ],
)
def test_owners_lose_their_rights_on_a_model_they_are_not_named_on(
    request, foreign_model, perm, expected
):
    # foreign_model is owned by other_model_owner; neither model_owner nor business_owner
    # is named on it.
    assert _allowed(request, perm, foreign_model) == expected | {"other_model_owner"}


def test_a_developer_registers_versions_but_does_not_edit_the_model(foreign_model, model_owner):
    foreign_model.developers.add(model_owner)
    assert model_owner.has_perm("inventory.view_registeredmodel", foreign_model)
    assert model_owner.has_perm("inventory.add_modelversion", foreign_model)
    assert not model_owner.has_perm("inventory.change_registeredmodel", foreign_model)


@pytest.mark.parametrize(
    ("perm", "expected"),
    [
        ("inventory.add_registeredmodel", {"admin_user", "model_owner", "other_model_owner"}),
        ("inventory.view_dataset", EVERYONE_WITH_A_ROLE),
        ("inventory.add_dataset", {"admin_user", "validator", "model_owner", "other_model_owner"}),
        ("audit.view_auditevent", {"admin_user", "validator", "auditor"}),
        ("audit.verify_auditevent", {"admin_user", "validator", "auditor"}),
    ],
)
def test_global_permissions_per_persona(request, perm, expected):
    assert _allowed(request, perm, None) == expected


def test_versions_lock_once_approved(request, owned_model, validator):
    version = ModelVersionFactory(model=owned_model)
    assert _allowed(request, "inventory.change_modelversion", version) == {
        "admin_user",
        "model_owner",
    }
    version.approved_at = version.created_at
    version.approved_by = validator
    assert _allowed(request, "inventory.change_modelversion", version) == set()
    assert _allowed(request, "inventory.delete_modelversion", version) == set()
    assert _allowed(request, "inventory.promote_modelversion", version) == {
        "admin_user",
        "validator",
    }


def test_only_the_dataset_owner_or_an_admin_edits_a_dataset(request, model_owner):
    dataset = DatasetFactory(owner=model_owner)
    assert _allowed(request, "inventory.change_dataset", dataset) == {"admin_user", "model_owner"}


@pytest.mark.parametrize("persona", ["auditor", "viewer"])
def test_read_only_roles_change_nothing(request, persona, owned_model):
    user = request.getfixturevalue(persona)
    version = ModelVersionFactory(model=owned_model)
    for perm, obj in [
        ("inventory.add_registeredmodel", None),
        ("inventory.change_registeredmodel", owned_model),
        ("inventory.transition_registeredmodel", owned_model),
        ("inventory.change_modelversion", version),
        ("inventory.promote_modelversion", version),
        ("inventory.add_deployment", version),
        ("inventory.add_dataset", None),
    ]:
        assert not user.has_perm(perm, obj), perm
