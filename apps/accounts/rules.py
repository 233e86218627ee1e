"""Account and administration permissions."""

import rules

from apps.core.predicates import has_any_role, is_admin


@rules.predicate
def owns_token(user, token) -> bool:
    return token is not None and token.user_id == user.pk


rules.add_perm("accounts.view_user", is_admin)
rules.add_perm("accounts.add_user", is_admin)
rules.add_perm("accounts.change_user", is_admin)
rules.add_perm("accounts.delete_user", is_admin)
rules.add_perm("auth.view_group", is_admin)
rules.add_perm("auth.change_group", is_admin)
# API tokens: anyone who may use the API makes their own; the owner or an administrator
# sees and revokes one; only administrators list everyone's (never the keys: only digests
# are stored).
rules.add_perm("accounts.add_authtoken", has_any_role)
rules.add_perm("accounts.view_authtoken", is_admin | owns_token)
rules.add_perm("accounts.delete_authtoken", is_admin | owns_token)
rules.add_perm("accounts.view_all_authtokens", is_admin)
# Lockouts after repeated wrong passwords: administrators see and lift them.
rules.add_perm("accounts.view_lockout", is_admin)
rules.add_perm("accounts.lift_lockout", is_admin)
# The Django admin (users, roles, reference data): administrators only, as the admin site
# itself decides (``apps.core.admin_site``); the navigation links to it for them.
rules.add_perm("accounts.use_admin_site", is_admin)
