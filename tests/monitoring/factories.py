"""Factories of monitoring objects (built directly; use the services when the audit trail
or the approval engine matters)."""

from __future__ import annotations

import datetime

import factory

from apps.monitoring.models import MetricDefinition, Threshold
from tests.factories import RegisteredModelFactory


class MetricFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MetricDefinition
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"metric-{n}")
    direction = "higher_is_better"
    created_by = factory.SubFactory("tests.factories.UserFactory")


class ThresholdFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Threshold

    model = factory.SubFactory(RegisteredModelFactory)
    metric = factory.SubFactory(MetricFactory, name="auc")
    direction = "below"
    warning_bound = 0.75
    critical_bound = 0.7
    rationale = "Agreed with the business."
    review_by = factory.LazyFunction(lambda: datetime.date.today() + datetime.timedelta(days=90))
    created_by = factory.SelfAttribute("model.owner")
