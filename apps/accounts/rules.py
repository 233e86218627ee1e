"""Account and administration permissions."""

import rules

from apps.accounts.predicates import is_admin

rules.add_perm("accounts.view_user", is_admin)
rules.add_perm("accounts.add_user", is_admin)
rules.add_perm("accounts.change_user", is_admin)
rules.add_perm("accounts.delete_user", is_admin)
rules.add_perm("auth.view_group", is_admin)
rules.add_perm("auth.change_group", is_admin)
rules.add_perm("authtoken.view_tokenproxy", is_admin)
rules.add_perm("authtoken.add_tokenproxy", is_admin)
rules.add_perm("authtoken.delete_tokenproxy", is_admin)
