"""Identity provider permissions: administrators edit the group-to-role mapping and see who
is linked to which provider subject."""

import rules

from apps.core.predicates import is_admin

rules.add_perm("identity.view_grouprolemapping", is_admin)
rules.add_perm("identity.add_grouprolemapping", is_admin)
rules.add_perm("identity.change_grouprolemapping", is_admin)
rules.add_perm("identity.delete_grouprolemapping", is_admin)
rules.add_perm("identity.view_provideridentity", is_admin)
