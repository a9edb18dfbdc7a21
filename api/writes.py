"""How every chain write runs: idempotency, then either wait until mined or answer 202.

A route hands `Writer.run` its parsed body and a function doing the write with the library; the
writer takes care of the ``Idempotency-Key`` (replaying the first response, refusing a reused key)
and of ``?wait=false`` (return once the transaction is sent; the outcome is recorded for
``GET /tx/{hash}``). Errors become the same JSON bodies as everywhere else, so a stored error
replays exactly. 5xx outcomes (node down) are not stored: the retry runs again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from api.errors import error_content, error_headers, ledger_error_response
from api.schemas.common import AcceptedView
from ledger.errors import LedgerError
from ledger.idempotency import StoredResponse, request_fingerprint
from ledger.submissions import SubmissionStatus, run_detached

if TYPE_CHECKING:
    from api.state import Gateway

__all__ = ["Writer"]

log = logging.getLogger(__name__)


class Writer:
    def __init__(
        self, *, gateway: Gateway, request: Request, wait: bool, idempotency_key: str | None
    ) -> None:
        self._gateway = gateway
        self._request = request
        self.wait = wait
        self.idempotency_key = idempotency_key
        self._error_headers: dict[str, str] = {}

    def run(
        self,
        *,
        scope: str,
        body: BaseModel | None,
        operation: Callable[[], BaseModel],
        status_code: int = 200,
    ) -> JSONResponse:
        """Run ``operation`` (a write) under the request's idempotency and wait options.

        ``scope`` namespaces idempotency keys (the API key id), so callers never collide.
        """
        key = self.idempotency_key
        store = self._gateway.idempotency
        if key is not None:
            fingerprint = request_fingerprint(
                method=self._request.method,
                path=self._request.url.path,
                body=None if body is None else body.model_dump(mode="json"),
            )
            stored = store.begin(scope=scope, key=key, fingerprint=fingerprint)
            if stored is not None:
                return JSONResponse(
                    stored.body,
                    status_code=stored.status_code,
                    headers=self._headers(stored.status_code, stored.body)
                    | {"Idempotent-Replayed": "true"},
                )
        try:
            status, content = self._execute(operation, status_code)
        except BaseException:
            if key is not None:
                store.abandon(scope=scope, key=key)
            raise
        if key is not None:
            # A 429 is not the request's outcome, only "not now": a retry must run again.
            if status < 500 and status != 429:
                store.complete(scope=scope, key=key, response=StoredResponse(status, content))
            else:
                store.abandon(scope=scope, key=key)
        headers = self._headers(status, content) | self._error_headers
        return JSONResponse(content, status_code=status, headers=headers)

    @staticmethod
    def _headers(status: int, content: Any) -> dict[str, str]:
        if status == 202 and isinstance(content, dict) and "status_url" in content:
            return {"Location": str(content["status_url"])}
        return {}

    def _execute(
        self, operation: Callable[[], BaseModel], status_code: int
    ) -> tuple[int, dict[str, Any]]:
        try:
            if self.wait:
                return status_code, operation().model_dump(mode="json")
            submissions = self._gateway.submissions
            name = f"{self._request.method} {self._request.url.path}"
            detached = run_detached(
                self._gateway.executor,
                operation,
                on_sent=lambda tx_hash: submissions.record_pending(tx_hash=tx_hash, operation=name),
            )
            if detached.tx_hash is None:  # nothing needed sending: the answer is final
                return status_code, detached.outcome.result().model_dump(mode="json")
            tx_hash = detached.tx_hash
            detached.outcome.add_done_callback(
                lambda future: self._record_outcome(tx_hash, status_code, future)
            )
            accepted = AcceptedView(tx_hash=tx_hash, status_url=f"/tx/{tx_hash}")
            return 202, accepted.model_dump(mode="json")
        except LedgerError as exc:
            self._error_headers = error_headers(exc)
            return ledger_error_response(exc)

    def _record_outcome(self, tx_hash: str, status_code: int, future: Future[BaseModel]) -> None:
        submissions = self._gateway.submissions
        try:
            content = future.result().model_dump(mode="json")
        except LedgerError as exc:
            status, body = ledger_error_response(exc)
            submissions.finish(
                tx_hash=tx_hash, status=SubmissionStatus.FAILED, status_code=status, body=body
            )
            return
        except Exception:
            log.exception("a write sent as %s failed unexpectedly", tx_hash)
            submissions.finish(
                tx_hash=tx_hash,
                status=SubmissionStatus.FAILED,
                status_code=500,
                body=error_content("internal_error", "the write failed unexpectedly"),
            )
            return
        submissions.finish(
            tx_hash=tx_hash, status=SubmissionStatus.MINED, status_code=status_code, body=content
        )
