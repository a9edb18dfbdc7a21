"""Write-and-answer plumbing shared by the ``/sales`` and ``/disputes`` routes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from fastapi.responses import JSONResponse

from api.deps import ArbiterOperator, CurrentOperator, MarketDep, WriterDep
from api.schemas.common import RequestModel
from api.schemas.market import SaleActionView
from api.writes import Writer
from ledger.market import MarketClient
from ledger.types import TxResult

__all__ = ["ArbiterSaleWritesDep", "SaleWrites", "SaleWritesDep"]


@dataclass(frozen=True, slots=True)
class SaleWrites:
    """What a write on a sale needs: the caller's key id (the idempotency scope), a market client
    signing as the caller, and the request's writer (Idempotency-Key, ``?wait=false``)."""

    scope: str
    market: MarketClient
    writer: Writer

    def run(
        self,
        sale_id: int,
        write: Callable[[MarketClient], TxResult],
        *,
        body: RequestModel | None = None,
        status_code: int = 200,
    ) -> JSONResponse:
        """Run ``write`` through the writer and answer with the sale's new state."""

        def operation() -> SaleActionView:
            tx = write(self.market)
            return SaleActionView(
                sale_id=sale_id,
                state=self.market.sale(sale_id).state.name.lower(),
                tx_hash=tx.tx_hash,
                block_number=tx.block_number,
                gas_used=tx.gas_used,
            )

        return self.writer.run(
            scope=self.scope, body=body, operation=operation, status_code=status_code
        )


def _sale_writes(operator: CurrentOperator, market: MarketDep, writer: WriterDep) -> SaleWrites:
    return SaleWrites(scope=operator.id, market=market, writer=writer)


def _arbiter_sale_writes(
    operator: ArbiterOperator, market: MarketDep, writer: WriterDep
) -> SaleWrites:
    return SaleWrites(scope=operator.id, market=market, writer=writer)


SaleWritesDep = Annotated[SaleWrites, Depends(_sale_writes)]
# For rulings: only ARBITER keys get this far (others: 403 ``forbidden``).
ArbiterSaleWritesDep = Annotated[SaleWrites, Depends(_arbiter_sale_writes)]
