"""``/merchants``: vetting and standing of accounts (writes: admin; reads: public)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import reduce
from typing import Annotated

from fastapi import APIRouter, Depends, Path
from fastapi.responses import JSONResponse

from api.deps import AdminOperator, ClientDep, GatewayDep, ReaderDep, WriterDep
from api.routes._common import ACCEPTED, errors
from api.routes.items import CursorQuery, LimitQuery, item_page
from api.routing import GuardedRoute
from api.schemas.common import AddressStr, RequestModel
from api.schemas.enums import to_ledger
from api.schemas.items import ItemPageView
from api.schemas.merchants import (
    MerchantCreate,
    MerchantStatusChange,
    MerchantView,
    MerchantWriteView,
)
from api.views import merchant_view
from api.writes import Writer
from ledger.client import ProvenanceClient
from ledger.errors import AccountNotVetted
from ledger.types import AccountStatus, Role, TxResult

__all__ = ["router"]

router = APIRouter(prefix="/merchants", tags=["merchants"], route_class=GuardedRoute)

AddressPath = Annotated[AddressStr, Path(description="The account's address.")]
_WRITE_ERRORS = {**errors(401, 403, 404, 409, 502), **ACCEPTED}


@dataclass(frozen=True, slots=True)
class _AccountWrites:
    """What an admin write on an account needs: the caller's key id (the idempotency scope), a
    client signing as the caller, a reader for the record after, and the request's writer."""

    scope: str
    client: ProvenanceClient
    reader: ProvenanceClient
    writer: Writer

    def run(
        self,
        address: str,
        write: Callable[[ProvenanceClient], TxResult],
        *,
        body: RequestModel,
        status_code: int = 200,
    ) -> JSONResponse:
        """Run ``write`` through the writer and answer with the account's record after it."""

        def operation() -> MerchantWriteView:
            tx = write(self.client)
            return MerchantWriteView(
                address=address,
                tx_hash=tx.tx_hash,
                block_number=tx.block_number,
                gas_used=tx.gas_used,
                merchant=merchant_view(self.reader.account_record(address)),
            )

        return self.writer.run(
            scope=self.scope, body=body, operation=operation, status_code=status_code
        )


def _account_writes(
    operator: AdminOperator, client: ClientDep, reader: ReaderDep, writer: WriterDep
) -> _AccountWrites:
    return _AccountWrites(scope=operator.id, client=client, reader=reader, writer=writer)


_AdminWritesDep = Annotated[_AccountWrites, Depends(_account_writes)]


@router.post("", status_code=201, response_model=MerchantWriteView, responses=_WRITE_ERRORS)
def vet_merchant(body: MerchantCreate, admin: _AdminWritesDep) -> JSONResponse:
    """Vet an account (default role: merchant), or re-vet a suspended or revoked one. Only the
    hash of ``credentials`` goes on chain."""
    roles = reduce(lambda acc, r: acc | to_ledger(Role, r), body.roles, Role(0))
    return admin.run(
        body.address,
        lambda client: client.vet(
            account=body.address,
            roles=roles,
            credentials=body.credentials,
            name=body.name,
            reason=body.reason,
        ),
        body=body,
        status_code=201,
    )


@router.post("/{address}/suspend", response_model=MerchantWriteView, responses=_WRITE_ERRORS)
def suspend_merchant(
    address: AddressPath, body: MerchantStatusChange, admin: _AdminWritesDep
) -> JSONResponse:
    """Bar an active account at once, for every role it holds."""
    return admin.run(
        address, lambda client: client.suspend(account=address, reason=body.reason), body=body
    )


@router.post("/{address}/reinstate", response_model=MerchantWriteView, responses=_WRITE_ERRORS)
def reinstate_merchant(
    address: AddressPath, body: MerchantStatusChange, admin: _AdminWritesDep
) -> JSONResponse:
    """Let a suspended account act again."""
    return admin.run(
        address, lambda client: client.reinstate(account=address, reason=body.reason), body=body
    )


@router.post("/{address}/revoke", response_model=MerchantWriteView, responses=_WRITE_ERRORS)
def revoke_merchant(
    address: AddressPath, body: MerchantStatusChange, admin: _AdminWritesDep
) -> JSONResponse:
    """Bar an account for good; only re-vetting with new credentials undoes it."""
    return admin.run(
        address, lambda client: client.revoke(account=address, reason=body.reason), body=body
    )


@router.get("/{address}", response_model=MerchantView, responses=errors(404))
def get_merchant(address: AddressPath, reader: ReaderDep) -> MerchantView:
    """An account's public vetting record (404 if it was never vetted)."""
    account = reader.account_record(address)
    if account.status is AccountStatus.NONE:
        raise AccountNotVetted("AccountNotVetted", {"account": account.address})
    return merchant_view(account)


@router.get("/{address}/items", response_model=ItemPageView, responses=errors())
def merchant_items(
    address: AddressPath,
    gateway: GatewayDep,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> ItemPageView:
    """Items the account registered, ordered by item id, from the event index; paginate with
    ``cursor`` (pass the previous page's ``next_cursor``)."""
    return item_page(gateway, registrant=address, limit=limit, cursor=cursor)
