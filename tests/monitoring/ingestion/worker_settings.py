"""Settings of the second worker in the kill test: an unacknowledged task whose worker died is
handed out again after two seconds instead of an hour."""

from mlgov.settings import *  # noqa: F403

CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 2,
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
}
