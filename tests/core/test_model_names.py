"""The names people read for mlgov's records (admin sidebar, audit kinds, exports): a plural
made by Django's default (the singular plus "s") must be English."""

from __future__ import annotations

import re

from django.apps import apps

# Singulars whose plural is not the singular plus "s": -s, -x, -z, -ch, -sh, consonant + y.
IRREGULAR = re.compile(r"(s|x|z|ch|sh|[^aeiou]y)$")


def test_every_models_plural_is_english():
    wrong = []
    for model in apps.get_models():
        if not model.__module__.startswith("apps."):
            continue
        singular = str(model._meta.verbose_name)
        plural = str(model._meta.verbose_name_plural)
        if IRREGULAR.search(singular) and plural == f"{singular}s":
            wrong.append(f"{model._meta.label}: {plural!r}")
    assert not wrong, "give these models a verbose_name_plural: " + ", ".join(wrong)
