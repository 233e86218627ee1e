"""Model fields shared by the apps."""

from __future__ import annotations

from django.db import models

from apps.core import clock


class StampField(models.DateTimeField):
    """A ``DateTimeField`` whose ``auto_now`` / ``auto_now_add`` stamps read mlgov's clock
    (:func:`apps.core.clock.now`) rather than the real time directly, so records written
    under a handed-in clock carry its time like every other stamp."""

    def pre_save(self, model_instance, add):
        if self.auto_now or (self.auto_now_add and add):
            value = clock.now()
            setattr(model_instance, self.attname, value)
            return value
        return super().pre_save(model_instance, add)

    def deconstruct(self):
        # Migrations record a plain DateTimeField: the column is the same, and only the
        # running model stamps through the clock.
        name, _path, args, kwargs = super().deconstruct()
        return name, "django.db.models.DateTimeField", args, kwargs
