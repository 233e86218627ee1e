"""Provisioning permissions: administrators make, see and revoke SCIM credentials and see the
provisioned users and groups. The SCIM endpoint itself is opened by a credential, never by a
user's role (apps/provisioning/views.py)."""

import rules

from apps.core.predicates import is_admin

rules.add_perm("provisioning.view_scimcredential", is_admin)
rules.add_perm("provisioning.add_scimcredential", is_admin)
rules.add_perm("provisioning.change_scimcredential", is_admin)  # revoking
rules.add_perm("provisioning.view_scimuser", is_admin)
rules.add_perm("provisioning.view_scimgroup", is_admin)
