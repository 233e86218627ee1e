"""Sessions that are written when they change, and otherwise at most once a minute.

The idle timeout (``SESSION_COOKIE_AGE`` after the last request) used to be kept by saving the
session on every request (``SESSION_SAVE_EVERY_REQUEST``): three queries a page (BEGIN, UPDATE,
COMMIT) for an unchanged row. This store marks a loaded session modified only when its stored
expiry has fallen more than ``REFRESH_AFTER`` behind a fresh one, so an active user's session
still slides forward (to within a minute) and an idle one still expires.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib.sessions.backends import db

from apps.core import clock

REFRESH_AFTER = timedelta(seconds=60)


class SessionStore(db.SessionStore):
    def _get_session_from_db(self):
        session = super()._get_session_from_db()
        if session is not None:
            fresh = clock.now() + timedelta(seconds=self.get_session_cookie_age())
            if fresh - session.expire_date > REFRESH_AFTER:
                self.modified = True
        return session
