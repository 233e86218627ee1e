"""The demo's people and business units: one account per role (usernames are the role
names, so that demo visitors can guess them) and the units their models belong to."""

from __future__ import annotations

from dataclasses import dataclass

from apps.core import roles


@dataclass(frozen=True)
class DemoUser:
    username: str
    role: str
    first_name: str
    last_name: str
    job_title: str
    timezone: str = "Europe/London"


# Usernames are the role names so that demo visitors can guess them; the admin comes first
# because it creates the other accounts.
DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("admin", roles.ADMIN, "Amira", "Haddad", "Platform administrator"),
    DemoUser(
        "validator",
        roles.VALIDATOR,
        "Victor",
        "Lindqvist",
        "Senior model risk validator",
        "Europe/Stockholm",
    ),
    DemoUser(
        "validator2",
        roles.VALIDATOR,
        "Priya",
        "Nair",
        "Model risk validator",
    ),
    DemoUser(
        "business_owner",
        roles.BUSINESS_OWNER,
        "Helen",
        "Brooks",
        "Head of Consumer Lending and Finance Operations",
    ),
    DemoUser(
        "business_owner2",
        roles.BUSINESS_OWNER,
        "Daniel",
        "Osei",
        "Director of Logistics and Digital Product",
    ),
    DemoUser(
        "model_owner", roles.MODEL_OWNER, "Maya", "Chen", "Lead data scientist, credit and payments"
    ),
    DemoUser(
        "model_owner2",
        roles.MODEL_OWNER,
        "Marco",
        "Rossi",
        "Machine-learning engineer, logistics and product",
        "Europe/Rome",
    ),
    DemoUser("auditor", roles.AUDITOR, "Aisha", "Rahman", "Internal audit manager"),
    DemoUser("viewer", roles.VIEWER, "Vera", "Novak", "Data governance analyst", "Europe/Prague"),
)

BUSINESS_UNITS: tuple[tuple[str, str], ...] = (
    ("consumer-lending", "Consumer Lending"),
    ("finance-operations", "Finance Operations"),
    ("logistics", "Logistics"),
    ("software-product", "Software Product"),
    ("customer-service", "Customer Service"),
    ("marketing", "Customer Marketing"),
)
