"""Signals the threshold evaluation sends; the incidents app receives them. Sent inside the
evaluation's transaction with the threshold locked, so a receiver's writes commit or roll back
with the breach, and an exception in a receiver fails the evaluation."""

from django.dispatch import Signal

# A breach entered critical (just created, not yet audited). kwargs: breach (Breach)
critical_breach_started = Signal()
# An open breach ended because its pair is back within bounds (ended, audited).
# kwargs: breach (Breach)
breach_recovered = Signal()
