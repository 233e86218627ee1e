"""Fixtures of the reviews tests: a second validator (four-eyes needs two) and a Tier 2 model."""

import pytest

from apps.core import roles
from tests.factories import RegisteredModelFactory, UserFactory


@pytest.fixture
def validator2(db):
    return UserFactory(username="vera.validator", roles=[roles.VALIDATOR])


@pytest.fixture
def tier2_model(db, model_owner, business_owner, validator):
    return RegisteredModelFactory(
        slug="tier-two",
        name="Tier two model",
        owner=model_owner,
        business_owner=business_owner,
        validator=validator,
        risk_tier=2,
    )
