"""Django sessions kept in the DynamoDB `sessions` table (TTL on `expires_at`)."""

from __future__ import annotations

import re

from django.contrib.sessions.backends.base import CreateError, SessionBase, UpdateError
from pynamodb.exceptions import DoesNotExist, PutError

from dashboard.accounts.models import SessionItem
from dashboard.core import clock

USER_KEY = "_user_id"
SIGNED_IN_AT_KEY = "_signed_in_at"  # ISO time of the sign-in (the account page lists sessions by it)
# The person's tenant at sign-in: a page reads the person and the tenant (is it being erased?) in one
# batch call (accounts.queries.person_and_tenant) rather than one after the other.
TENANT_KEY = "_tenant_id"
AGENT_KEY = "_agent"  # the browser's User-Agent at sign-in, shortened


# Django's keys are 32 lowercase letters and digits; a cookie that is not one is ignored before
# it could reach DynamoDB (an over-long key is a ValidationException there, i.e. a 500).
SESSION_KEY_PATTERN = re.compile(r"[a-z0-9]{8,64}")


def _parse_time(text):
    try:
        return clock.parse_iso(text) if isinstance(text, str) else None
    except ValueError:
        return None


class SessionStore(SessionBase):
    def _validate_session_key(self, key: str | None) -> bool:
        return bool(key) and SESSION_KEY_PATTERN.fullmatch(key) is not None

    def load(self) -> dict:
        try:
            item = SessionItem.get(self._get_or_create_session_key())
        except DoesNotExist:
            item = None
        # DynamoDB removes expired items late (DynamoDB Local never): check the TTL ourselves.
        if item is None or item.expires_at <= clock.now():
            self._session_key = None
            return {}
        return self.decode(item.data)

    def exists(self, session_key: str) -> bool:
        try:
            item = SessionItem.get(session_key)
        except DoesNotExist:
            return False
        return item.expires_at > clock.now()

    def create(self) -> None:
        while True:
            self._session_key = self._get_new_session_key()
            try:
                self.save(must_create=True)
            except CreateError:
                continue
            self.modified = True
            return

    def save(self, must_create: bool = False) -> None:
        if self.session_key is None:
            return self.create()
        data = self._get_session(no_load=must_create)
        item = SessionItem(
            session_key=self._get_or_create_session_key(),
            data=self.encode(data),
            user_id=data.get(USER_KEY),
            expires_at=self.get_expiry_date(),
            signed_in_at=_parse_time(data.get(SIGNED_IN_AT_KEY)),
            agent=data.get(AGENT_KEY) or None,
        )
        condition = (
            SessionItem.session_key.does_not_exist() if must_create else SessionItem.session_key.exists()
        )
        try:
            item.save(condition=condition)
        except PutError as exc:
            if exc.cause_response_code != "ConditionalCheckFailedException":
                raise
            if must_create:
                raise CreateError from exc
            raise UpdateError from exc

    def delete(self, session_key: str | None = None) -> None:
        session_key = session_key or self.session_key
        if session_key is None:
            return
        SessionItem(session_key=session_key).delete()

    @classmethod
    def clear_expired(cls) -> None:
        """DynamoDB's TTL deletes expired sessions; nothing to do here."""
