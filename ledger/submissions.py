"""Writes that return as soon as their transaction is sent, and a log to look them up later.

Why this exists: a write normally returns once mined, but a caller may ask not to wait
(``?wait=false`` at the gateway). The library's senders only return when mined, so the hash is
caught on its way to the node instead: `SendObserver` is a web3 middleware that hands the
result of every ``eth_sendRawTransaction`` made *in the current thread* to a listener
(`observe_sends`). `run_detached` runs a write on an executor thread, returns the first hash it
sends (or the write's error if it failed before sending anything: a refused write costs nothing
and still fails at once), and leaves the rest running. `SubmissionLog` records what became of it,
in the gateway database, so ``GET /tx/{hash}`` can answer after a restart too.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from hexbytes import HexBytes
from web3 import Web3
from web3.middleware import Web3Middleware

from ledger.errors import ChainUnavailableError
from ledger.localdb import LocalDatabase

if TYPE_CHECKING:
    from web3.types import MakeRequestFn, RPCEndpoint, RPCResponse

__all__ = [
    "Detached",
    "SendObserver",
    "Submission",
    "SubmissionLog",
    "SubmissionStatus",
    "install_send_observer",
    "observe_sends",
    "run_detached",
]

T = TypeVar("T")
_OBSERVER_NAME = "provenance_send_observer"
_local = threading.local()


class SendObserver(Web3Middleware):
    """Reports each sent transaction's hash to the current thread's listener, if any."""

    def wrap_make_request(self, make_request: MakeRequestFn) -> MakeRequestFn:
        def middleware(method: RPCEndpoint, params: Any) -> RPCResponse:
            response = make_request(method, params)
            listener: Callable[[str], None] | None = getattr(_local, "listener", None)
            if listener is not None and method == "eth_sendRawTransaction":
                result = response.get("result") if isinstance(response, dict) else None
                if isinstance(result, str | bytes):
                    listener(HexBytes(result).to_0x_hex())
            return response

        return middleware


def install_send_observer(w3: Web3) -> None:
    """Add `SendObserver` to ``w3`` (once)."""
    with suppress(ValueError):  # already installed
        w3.middleware_onion.add(SendObserver, name=_OBSERVER_NAME)


@contextmanager
def observe_sends(listener: Callable[[str], None]) -> Iterator[None]:
    """Call ``listener(tx_hash)`` for each transaction this thread sends inside the block."""
    previous = getattr(_local, "listener", None)
    _local.listener = listener
    try:
        yield
    finally:
        _local.listener = previous


@dataclass(frozen=True)
class Detached(Generic[T]):
    """A write left running: its first transaction's hash, and its eventual outcome."""

    tx_hash: str | None
    """None when the write finished without sending anything; ``outcome`` then holds it."""
    outcome: Future[T]


def run_detached(
    executor: Executor,
    operation: Callable[[], T],
    *,
    on_sent: Callable[[str], None] | None = None,
    send_timeout: float = 60.0,
) -> Detached[T]:
    """Run ``operation`` on ``executor``; return once it has sent its first transaction.

    Raises what ``operation`` raised if it failed before sending. ``on_sent`` runs (on the
    executor thread) before this returns, so a log entry made there exists by then.
    """
    sent: Future[str | None] = Future()

    def listener(tx_hash: str) -> None:
        if not sent.done():
            if on_sent is not None:
                on_sent(tx_hash)
            sent.set_result(tx_hash)

    def job() -> T:
        with observe_sends(listener):
            try:
                return operation()
            except BaseException as exc:
                if not sent.done():
                    sent.set_exception(exc)
                raise
            finally:
                if not sent.done():
                    sent.set_result(None)

    outcome = executor.submit(job)
    try:
        tx_hash = sent.result(timeout=send_timeout)
    except FutureTimeout:
        raise ChainUnavailableError(
            f"the node did not accept the transaction within {send_timeout:g}s"
        ) from None
    return Detached(tx_hash=tx_hash, outcome=outcome)


class SubmissionStatus(StrEnum):
    PENDING = "pending"
    MINED = "mined"
    FAILED = "failed"


@dataclass(frozen=True)
class Submission:
    tx_hash: str
    operation: str
    status: SubmissionStatus
    status_code: int | None
    body: Any
    created_at: int
    updated_at: int


_SCHEMA = """
CREATE TABLE IF NOT EXISTS submissions (
    tx_hash TEXT PRIMARY KEY,
    operation TEXT NOT NULL,
    status TEXT NOT NULL,
    status_code INTEGER,
    body TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
"""


class SubmissionLog:
    """Transactions sent without waiting, and their outcome once known."""

    def __init__(self, db: LocalDatabase) -> None:
        self._db = db
        db.script(_SCHEMA)
        # Pending entries this process is still working on (others were left by a process
        # that stopped, and only the chain can say what became of them).
        self._running: set[str] = set()
        self._lock = threading.Lock()

    def is_running(self, tx_hash: str) -> bool:
        with self._lock:
            return tx_hash.lower() in self._running

    def record_pending(self, *, tx_hash: str, operation: str) -> None:
        with self._lock:
            self._running.add(tx_hash.lower())
        now = int(time.time())
        self._db.execute(
            "INSERT OR IGNORE INTO submissions (tx_hash, operation, status, created_at, "
            "updated_at) VALUES (?, ?, 'pending', ?, ?)",
            (tx_hash.lower(), operation, now, now),
        )

    def finish(
        self, *, tx_hash: str, status: SubmissionStatus, status_code: int, body: Any
    ) -> None:
        self._db.execute(
            "UPDATE submissions SET status = ?, status_code = ?, body = ?, updated_at = ? "
            "WHERE tx_hash = ?",
            (status.value, status_code, json.dumps(body), int(time.time()), tx_hash.lower()),
        )
        with self._lock:
            self._running.discard(tx_hash.lower())

    def get(self, tx_hash: str) -> Submission | None:
        rows = self._db.execute("SELECT * FROM submissions WHERE tx_hash = ?", (tx_hash.lower(),))
        if not rows:
            return None
        row = rows[0]
        return Submission(
            tx_hash=str(row["tx_hash"]),
            operation=str(row["operation"]),
            status=SubmissionStatus(row["status"]),
            status_code=None if row["status_code"] is None else int(row["status_code"]),
            body=None if row["body"] is None else json.loads(row["body"]),
            created_at=int(row["created_at"]),
            updated_at=int(row["updated_at"]),
        )
