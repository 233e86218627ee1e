"""People, business units and the metric catalogue of the scale inventory.

The demo's accounts (``apps.demo.data.users``: ``admin``, ``validator``, ``business_owner``,
``model_owner``, ``auditor``, ``viewer`` and their second colleagues), the business units and
the metric definitions are made through the real services (``user_create``,
``business_unit_create``, ``metric_definition_create``), a few dozen calls. The rest of the
staff (about 200 people in all) is bulk-created with the same fields, roles and audit events
``user_create`` writes, sharing the demo accounts' password hash (one hash to compute instead
of two hundred).
"""

from __future__ import annotations

import unicodedata
from datetime import timedelta

from django.contrib.auth.models import Group

from apps.accounts.models import User
from apps.accounts.services import USER_AUDITED_FIELDS, user_create
from apps.audit import diff
from apps.audit.models import AuditEvent
from apps.core import roles
from apps.demo.data.users import DEMO_USERS
from apps.demo.passwords import demo_password
from apps.demo.scale import words
from apps.demo.scale.context import Scale
from apps.demo.story import StoryClock
from apps.inventory.models import BusinessUnit
from apps.inventory.services import business_unit_create
from apps.monitoring.models import MetricDefinition
from apps.monitoring.services import metric_definition_create

#: Share of the generated staff in each role.
ROLE_SHARES = (
    (roles.MODEL_OWNER, 0.55),
    (roles.BUSINESS_OWNER, 0.22),
    (roles.VALIDATOR, 0.10),
    (roles.VIEWER, 0.06),
    (roles.AUDITOR, 0.05),
    (roles.ADMIN, 0.02),
)


def staff_size(models: int) -> int:
    """About 200 people for 10,000 models, never fewer than 30."""
    return max(30, min(200, models // 50))


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def seed_people(scale: Scale, *, password: str | None = None) -> None:
    """The demo accounts, units and metrics (services, under a clock just before the
    history starts), then the bulk-created staff."""
    password = password or demo_password()
    rng = scale.rng("people")
    story = StoryClock(start=scale.start - timedelta(days=3), end=scale.start)
    users: dict[str, User] = {}
    with story.running():
        for spec in DEMO_USERS:
            users[spec.username] = user_create(
                actor=users.get("admin"),
                username=spec.username,
                password=password,
                role_names=[spec.role],
                first_name=spec.first_name,
                last_name=spec.last_name,
                email=f"{spec.username.replace('_', '.')}@mlgov.example",
                job_title=spec.job_title,
                timezone=spec.timezone,
            )
        admin, validator = users["admin"], users["validator"]
        unit_names = list(words.BUSINESS_UNIT_NAMES)
        rng.shuffle(unit_names)
        for name in sorted(unit_names[: rng.randint(20, 40)]):
            business_unit_create(actor=admin, code=words.slugify(name), name=name)
        for name, unit, direction, *_ in words.METRICS:
            metric_definition_create(
                actor=validator,
                name=name,
                direction=direction,
                unit=unit,
                description=f"{name} as reported by the model's monitoring job.",
            )
    for user in users.values():
        scale.full_names[user.pk] = user.get_full_name()
        scale.names[user.pk] = user.username
        scale.people[user.username] = user.pk
        scale.by_role.setdefault(next(iter(roles.roles_of(user))), []).append(user.pk)
    _bulk_staff(scale, rng, password_hash=admin.password, admin_id=admin.pk)
    scale.units = list(BusinessUnit.objects.order_by("pk"))
    scale.metrics = {m.name: m for m in MetricDefinition.objects.all()}


def _bulk_staff(scale: Scale, rng, *, password_hash: str, admin_id: int) -> None:
    total = staff_size(scale.options.models) - len(scale.people)
    groups = {g.name: g for g in Group.objects.filter(name__in=roles.ALL_ROLES)}
    specs = []
    for role, share in ROLE_SHARES:
        specs += [role] * max(1, round(total * share))
    specs = specs[:total]
    unit_names = [u for u in words.BUSINESS_UNIT_NAMES]
    joined = [
        scale.start + timedelta(days=rng.uniform(0, scale.options.history_days * 0.6))
        for _ in specs
    ]
    joined.sort()
    made = []
    for i, (role, when) in enumerate(zip(specs, joined, strict=True)):
        first, last = words.person_name(rng)
        username = f"{_ascii(first)}.{_ascii(last).replace(chr(39), '')}.{i + 1:03d}"
        made.append(
            (
                role,
                User(
                    username=username,
                    first_name=first,
                    last_name=last,
                    email=f"{username}@mlgov.example",
                    job_title=words.JOB_TITLES[role].format(unit=rng.choice(unit_names)),
                    timezone=rng.choice(words.TIMEZONES),
                    is_staff=role == roles.ADMIN,
                    password=password_hash,
                    date_joined=when,
                ),
            )
        )
    User.objects.bulk_create([user for _, user in made], batch_size=500)
    links = [User.groups.through(user_id=user.pk, group_id=groups[role].pk) for role, user in made]
    User.groups.through.objects.bulk_create(links, batch_size=1000)
    for role, user in made:
        scale.full_names[user.pk] = user.get_full_name()
        scale.names[user.pk] = user.username
        scale.people[user.username] = user.pk
        scale.by_role.setdefault(role, []).append(user.pk)
        changes = diff.created(diff.snapshot(user, USER_AUDITED_FIELDS))
        changes["roles"] = {"before": None, "after": [role]}
        scale.event(
            user.date_joined,
            admin_id,
            AuditEvent.Action.CREATE,
            "accounts.user",
            user.pk,
            str(user),
            changes=changes,
            message="Password set",
        )
