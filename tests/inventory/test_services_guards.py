"""Guards added around the inventory services: reserved names, ownership on registration,
deleting a model that other models depend on, and removing a lineage link."""

import pytest

from apps.audit.models import AuditEvent
from apps.core.errors import ApplicationError
from apps.inventory import services
from apps.inventory.models import ModelDependency, RegisteredModel
from tests.factories import BusinessUnitFactory, RegisteredModelFactory

pytestmark = pytest.mark.django_db


def _register(actor, slug, business_owner, **extra):
    return services.registered_model_create(
        actor=actor,
        slug=slug,
        name=f"Model {slug}",
        purpose="Guards.",
        business_unit=BusinessUnitFactory(),
        business_owner=business_owner,
        **extra,
    )


@pytest.mark.parametrize("slug", ["new", "edit", "export"])
def test_it_refuses_slugs_the_pages_use_for_their_own_routes(model_owner, business_owner, slug):
    with pytest.raises(ApplicationError) as caught:
        _register(model_owner, slug, business_owner)
    assert "slug" in caught.value.field_errors
    assert not RegisteredModel.objects.exists()


def test_it_refuses_a_version_called_new(model_owner, owned_model):
    with pytest.raises(ApplicationError) as caught:
        services.model_version_register(
            actor=model_owner,
            model=owned_model,
            version="new",
            artifact_uri="s3://m/a.pkl",
            artifact_sha256="a" * 64,
        )
    assert "version" in caught.value.field_errors


def test_a_model_owner_registers_only_models_they_own(
    model_owner, other_model_owner, business_owner
):
    with pytest.raises(ApplicationError) as caught:
        _register(model_owner, "not-mine", business_owner, owner=other_model_owner)
    assert "owner" in caught.value.field_errors
    assert not AuditEvent.objects.exists()


def test_an_admin_registers_a_model_for_another_owner(admin_user, model_owner, business_owner):
    model = _register(admin_user, "for-someone", business_owner, owner=model_owner)
    assert model.owner == model_owner


def test_a_model_linked_in_the_lineage_cannot_be_deleted(admin_user, model_owner):
    upstream = RegisteredModelFactory(owner=model_owner)
    downstream = RegisteredModelFactory(owner=model_owner)
    link = services.model_dependency_create(
        actor=admin_user, upstream=upstream, downstream=downstream
    )
    with pytest.raises(ApplicationError, match="linked to other models"):
        services.registered_model_delete(actor=admin_user, model=upstream)
    services.model_dependency_delete(actor=admin_user, dependency=link)
    assert not ModelDependency.objects.exists()
    refs = set(
        AuditEvent.objects.filter(
            action="delete", object_type="inventory.modeldependency"
        ).values_list("model_ref", flat=True)
    )
    assert refs == {upstream.pk, downstream.pk}
    services.registered_model_delete(actor=admin_user, model=upstream)
    assert not RegisteredModel.objects.filter(pk=upstream.pk).exists()


def test_only_admins_remove_lineage_links(validator, admin_user, model_owner):
    from django.core.exceptions import PermissionDenied

    link = services.model_dependency_create(
        actor=admin_user,
        upstream=RegisteredModelFactory(owner=model_owner),
        downstream=RegisteredModelFactory(owner=model_owner),
    )
    with pytest.raises(PermissionDenied):
        services.model_dependency_delete(actor=validator, dependency=link)
