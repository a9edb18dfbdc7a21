"""The gateway's small local database: one SQLite file shared by the key, idempotency and
submission stores.

Why this exists: the gateway keeps a little state that does not belong on chain (API key hashes,
idempotent responses, transactions submitted without waiting) and must survive restarts. SQLite
in WAL mode lets the CLI read and write the same file while the gateway runs. One connection is
shared by all threads behind a lock: every statement here is tiny, so the lock never matters for
throughput, and it avoids per-thread connections that outlive their threads.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["DATABASE_FILE", "LocalDatabase", "immediate_transaction"]

DATABASE_FILE = "gateway.db"
_BUSY_TIMEOUT_MS = 10_000


@contextmanager
def immediate_transaction(
    conn: sqlite3.Connection, lock: threading.Lock | threading.RLock
) -> Iterator[sqlite3.Connection]:
    """Hold ``lock`` and run an IMMEDIATE transaction on ``conn``: the write lock is taken up
    front, so what the transaction reads stays true until it commits; rolled back on error."""
    with lock:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")


class LocalDatabase:
    """A thread-safe handle on one SQLite file (created with mode 0600, WAL journal)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            # Create it private before SQLite does: it holds key hashes and stored responses.
            fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
            os.close(fd)
        self._conn = sqlite3.connect(
            path, timeout=_BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
        )
        self._conn.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")

    @classmethod
    def open(cls, data_dir: Path) -> LocalDatabase:
        """The database ``<data_dir>/gateway.db``."""
        return cls(data_dir / DATABASE_FILE)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        """Run one statement (autocommit) and return its rows."""
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def script(self, sql: str) -> None:
        """Run several statements (schema creation)."""
        with self._lock:
            self._conn.executescript(sql)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """An immediate (write-locking) transaction, committed on success, rolled back on error."""
        with immediate_transaction(self._conn, self._lock) as conn:
            yield conn

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __repr__(self) -> str:
        return f"<LocalDatabase {self.path}>"
