"""Idempotent writes: a retried request carrying the same ``Idempotency-Key`` gets the first
request's response instead of sending a second transaction.

Why this exists: a client whose connection drops while a registration is being mined cannot tell
whether it happened. Retrying with the same key is always safe: the first response is stored with
a fingerprint of the request (method, path, canonical body), replayed for an identical retry, and
refused for a different request under the same key (which is a client bug, not a retry).

Keys are scoped (the gateway uses the API key id), so two callers cannot collide. A request still
running under a key makes concurrent retries fail with `IdempotencyKeyInProgress`. Claims left by
a process that died are released at the next start (`release_unfinished`), so a retry then runs
the request again; the chain itself refuses a true duplicate (``ItemAlreadyRegistered``).
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from typing import Any

from ledger.errors import Conflict, InputError
from ledger.localdb import LocalDatabase

__all__ = [
    "DEFAULT_TTL_SECONDS",
    "IdempotencyKeyInProgress",
    "IdempotencyKeyReused",
    "IdempotencyStore",
    "StoredResponse",
    "request_fingerprint",
]

DEFAULT_TTL_SECONDS = 24 * 3600
MAX_KEY_LENGTH = 255

_SCHEMA = """
CREATE TABLE IF NOT EXISTS idempotency (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status_code INTEGER,
    body TEXT,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
);
"""


class IdempotencyKeyReused(InputError):
    code = "idempotency_key_reused"

    def __init__(self) -> None:
        super().__init__(
            "this Idempotency-Key was already used for a different request",
            field="Idempotency-Key",
        )


class IdempotencyKeyInProgress(Conflict):
    code = "idempotency_key_in_progress"
    template = "a request with this Idempotency-Key is still being processed; retry shortly"

    def __init__(self) -> None:
        super().__init__("IdempotencyKeyInProgress", {})


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    body: Any


def request_fingerprint(*, method: str, path: str, body: Any) -> str:
    """SHA-256 of the request's method, path and canonical JSON body."""
    canonical = json.dumps(
        [method.upper(), path, body], sort_keys=True, separators=(",", ":"), ensure_ascii=True
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class IdempotencyStore:
    def __init__(self, db: LocalDatabase, *, ttl_seconds: int = DEFAULT_TTL_SECONDS) -> None:
        self._db = db
        self._ttl = ttl_seconds
        db.script(_SCHEMA)

    def begin(self, *, scope: str, key: str, fingerprint: str) -> StoredResponse | None:
        """Claim ``key`` for a new request (returns None), or return the stored response.

        Raises `IdempotencyKeyReused` for a different request under the same key, and
        `IdempotencyKeyInProgress` while the first request is still running.
        """
        if not key or len(key) > MAX_KEY_LENGTH:
            raise InputError(
                f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters",
                field="Idempotency-Key",
            )
        now = int(time.time())
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM idempotency WHERE created_at < ?", (now - self._ttl,))
            row = conn.execute(
                "SELECT fingerprint, status_code, body FROM idempotency "
                "WHERE scope = ? AND key = ?",
                (scope, key),
            ).fetchone()
            if row is None:
                conn.execute(
                    "INSERT INTO idempotency (scope, key, fingerprint, created_at) "
                    "VALUES (?, ?, ?, ?)",
                    (scope, key, fingerprint, now),
                )
                return None
        if row["fingerprint"] != fingerprint:
            raise IdempotencyKeyReused()
        if row["status_code"] is None:
            raise IdempotencyKeyInProgress()
        return StoredResponse(int(row["status_code"]), json.loads(row["body"]))

    def complete(self, *, scope: str, key: str, response: StoredResponse) -> None:
        self._db.execute(
            "UPDATE idempotency SET status_code = ?, body = ? WHERE scope = ? AND key = ?",
            (response.status_code, json.dumps(response.body), scope, key),
        )

    def abandon(self, *, scope: str, key: str) -> None:
        """Release a claim without storing a response (the request may be retried)."""
        self._db.execute(
            "DELETE FROM idempotency WHERE scope = ? AND key = ? AND status_code IS NULL",
            (scope, key),
        )

    def release_unfinished(self) -> int:
        """Drop claims whose request never finished (left by a process that died)."""
        with self._db.transaction() as conn:
            cursor = conn.execute("DELETE FROM idempotency WHERE status_code IS NULL")
            return cursor.rowcount
