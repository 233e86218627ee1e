"""Audit permissions: only auditors, validators and admins read the audit log."""

import rules

from apps.core.predicates import reads_audit_log

rules.add_perm("audit.view_auditevent", reads_audit_log)
rules.add_perm("audit.verify_auditevent", reads_audit_log)
rules.add_perm("audit.view_chainverification", reads_audit_log)
