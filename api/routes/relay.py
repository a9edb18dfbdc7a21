"""``POST /relay`` (transactions and messages owners and buyers signed) and ``GET /tx/{hash}``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse
from hexbytes import HexBytes
from web3.exceptions import TransactionNotFound

from api.deps import GatewayDep, WriterDep
from api.errors import ApiError
from api.routes._common import ACCEPTED, errors
from api.routing import GuardedRoute
from api.schemas.common import ErrorBody, TxHashStr
from api.schemas.relay import RelayRequest, RelayView
from api.schemas.tx import TxStatusView
from ledger.errors import LedgerError
from ledger.submissions import SubmissionStatus
from ledger.tx import translate_error

__all__ = ["router"]

router = APIRouter(tags=["relay"], route_class=GuardedRoute)

TxHashPath = Annotated[TxHashStr, Path(description="A transaction hash (0x-hex).")]


@router.post(
    "/relay", response_model=RelayView, responses={**errors(403, 404, 409, 429, 502), **ACCEPTED}
)
def relay_transaction(body: RelayRequest, gateway: GatewayDep, writer: WriterDep) -> JSONResponse:
    """Forward what an owner or buyer signed: one of ``raw_transaction``, ``transfer`` or
    ``permit``.

    A raw transaction must call one of our contracts (the passport or the market) on this chain;
    its sender pays. A ``transfer`` (``transferBySig``) or ``permit`` (ERC-4494) message is
    submitted by the gateway's sponsor account (the platform admin's), which pays the gas. All
    are simulated first, so what the contract would refuse (a wrong, expired or used signature,
    another chain or contract...) comes back as that error (same codes as the other endpoints)
    and is never sent. Relaying an already-known raw transaction returns its outcome; a message
    works once. The gateway pays for at most ``PROVENANCE_RELAY_SPONSOR_PER_SIGNER`` messages
    per signer (and ``PROVENANCE_RELAY_SPONSOR_TOTAL`` in all) per
    ``PROVENANCE_RELAY_SPONSOR_WINDOW`` seconds: beyond that, 429 ``sponsor_limit_reached``.
    """

    def operation() -> RelayView:
        if body.raw_transaction is not None:
            relayer = gateway.relayer
            tx = relayer.inspect(body.raw_transaction)
            result = relayer.relay(tx.raw)
            return RelayView(
                tx_hash=result.tx_hash,
                kind="raw_transaction",
                sender=tx.sender,
                to=str(tx.to),
                signer=tx.sender,
                block_number=result.block_number,
                gas_used=result.gas_used,
            )
        form = body.transfer if body.transfer is not None else body.permit
        assert form is not None  # RelayRequest admits exactly one member
        relayed = gateway.message_relayer().relay(form.message(), form.signature)
        return RelayView(
            tx_hash=relayed.tx.tx_hash,
            kind=relayed.kind,
            sender=relayed.sponsor,
            to=relayed.to,
            signer=relayed.signer,
            block_number=relayed.tx.block_number,
            gas_used=relayed.tx.gas_used,
        )

    return writer.run(scope="relay", body=body, operation=operation)


def _chain_status(gateway: GatewayDep, tx_hash: str) -> tuple[str, int | None] | None:
    """("mined"|"failed", block) from the receipt, ("pending", None), or None if unknown."""
    eth = gateway.connection.w3.eth
    try:
        try:
            receipt = eth.get_transaction_receipt(HexBytes(tx_hash))
            ok = receipt["status"] == 1
            return ("mined" if ok else "failed"), int(receipt["blockNumber"])
        except TransactionNotFound:
            pass
        try:
            eth.get_transaction(HexBytes(tx_hash))
        except TransactionNotFound:
            return None
        return "pending", None
    except LedgerError:
        raise
    except Exception as exc:
        error = translate_error(exc, gateway.reader.decoder)
        if error is None:
            raise
        raise error from exc


@router.get("/tx/{tx_hash}", response_model=TxStatusView, responses=errors(404))
def transaction_status(tx_hash: TxHashPath, gateway: GatewayDep) -> TxStatusView:
    """The status of a transaction: for writes sent with ``?wait=false``, their final response
    (``result``) or error; for any other transaction, what the chain says."""
    submission = gateway.submissions.get(tx_hash)
    if submission is not None and gateway.submissions.is_running(tx_hash):
        # Still being worked on here: its response (which may span more transactions) is not
        # final even if this transaction is already mined.
        return TxStatusView(tx_hash=tx_hash, status="pending", operation=submission.operation)
    if submission is not None and submission.status is not SubmissionStatus.PENDING:
        body: Any = submission.body
        if submission.status is SubmissionStatus.MINED:
            block = body.get("block_number") if isinstance(body, dict) else None
            return TxStatusView(
                tx_hash=tx_hash,
                status="mined",
                block_number=block if isinstance(block, int) else None,
                operation=submission.operation,
                result=body if isinstance(body, dict) else None,
            )
        if (submission.status_code or 500) < 500:
            on_chain = _chain_status(gateway, tx_hash)
            return TxStatusView(
                tx_hash=tx_hash,
                status="failed",
                block_number=on_chain[1] if on_chain else None,
                operation=submission.operation,
                error=ErrorBody.model_validate(body["error"]),
            )
        # Failed with a 5xx (node unavailable while waiting): the chain may know better.
    on_chain = _chain_status(gateway, tx_hash)
    if on_chain is None:
        if submission is not None:  # sent by us, not yet visible (or dropped)
            return TxStatusView(tx_hash=tx_hash, status="pending", operation=submission.operation)
        raise ApiError(404, "transaction_not_found", f"the chain does not know {tx_hash}")
    status, block = on_chain
    error = (
        ErrorBody(code="transaction_reverted", message="the transaction reverted on chain")
        if status == "failed"
        else None
    )
    return TxStatusView(
        tx_hash=tx_hash,
        status="mined" if status == "mined" else ("failed" if status == "failed" else "pending"),
        block_number=block,
        operation=submission.operation if submission is not None else None,
        error=error,
    )
