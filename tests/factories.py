"""factory_boy factories for the inventory. Objects are built directly (not via services)
unless a test is about the service; use services when the audit trail matters."""

from __future__ import annotations

import hashlib

import factory
from django.contrib.auth.models import Group

from apps.accounts.models import User
from apps.core import roles
from apps.inventory import models as inv


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.test")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.django.Password("correct-horse-battery")

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if create and extracted:
            for name in extracted:
                # get_or_create: a transactional test (live server, worker) flushes the
                # database, removing the groups the data migration made.
                self.groups.add(Group.objects.get_or_create(name=name)[0])


class BusinessUnitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = inv.BusinessUnit
        django_get_or_create = ("code",)

    name = factory.Sequence(lambda n: f"Unit {n}")
    code = factory.Sequence(lambda n: f"unit-{n}")


class RegisteredModelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = inv.RegisteredModel

    slug = factory.Sequence(lambda n: f"model-{n}")
    name = factory.Sequence(lambda n: f"Model {n}")
    purpose = "Predict things for a test."
    business_unit = factory.SubFactory(BusinessUnitFactory)
    # People who fit their seats (apps/inventory/accountability.py), as the services require.
    owner = factory.SubFactory(UserFactory, roles=[roles.MODEL_OWNER])
    business_owner = factory.SubFactory(UserFactory, roles=[roles.BUSINESS_OWNER])
    created_by = factory.SelfAttribute("owner")


class DatasetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = inv.Dataset

    slug = factory.Sequence(lambda n: f"dataset-{n}")
    name = factory.Sequence(lambda n: f"Dataset {n}")
    uri = factory.Sequence(lambda n: f"s3://data/dataset-{n}.parquet")
    version = "1"
    content_hash = factory.Sequence(lambda n: hashlib.sha256(f"ds{n}".encode()).hexdigest())
    owner = factory.SubFactory(UserFactory, roles=[roles.MODEL_OWNER])
    created_by = factory.SelfAttribute("owner")


class ModelVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = inv.ModelVersion

    model = factory.SubFactory(RegisteredModelFactory)
    version = factory.Sequence(lambda n: f"1.{n}.0")
    artifact_uri = factory.Sequence(lambda n: f"s3://models/artifact-{n}.pkl")
    artifact_sha256 = factory.Sequence(lambda n: hashlib.sha256(f"art{n}".encode()).hexdigest())
    code_commit = "0123abc"
    created_by = factory.SelfAttribute("model.owner")


class DeploymentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = inv.Deployment

    version = factory.SubFactory(ModelVersionFactory)
    environment = "production"
    endpoint = "https://models.internal/predict"
    deployed_at = factory.Faker("date_time_this_year", tzinfo=__import__("datetime").UTC)
    created_by = factory.SelfAttribute("version.created_by")


def api_token_key(user, *, name: str = "tests") -> str:
    """A key for ``Authorization: Token <key>`` (hashed, named, expiring, as the app makes
    them), made once per user object. Not audited: tests about tokens use the services."""
    from apps.accounts.models import AuthToken

    key = getattr(user, "_test_api_token_key", None)
    if key is None:
        _, key = AuthToken.objects.create(user=user, name=name)
        user._test_api_token_key = key
    return key
