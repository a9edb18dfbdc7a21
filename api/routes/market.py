"""``/market``, ``/accounts/{address}/credits``, ``/withdrawals``: the resale market's settings,
and its money.

The market never pushes money: settling a sale (or a refund) credits the parties and the fee to
the treasury, and each account withdraws its whole credit when it likes (pull payments).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse

from api.deps import CurrentOperator, MarketDep, MarketReaderDep, WriterDep
from api.routes._common import ACCEPTED, errors
from api.routing import GuardedRoute
from api.schemas.common import AddressStr
from api.schemas.market import CreditsView, MarketView, WithdrawalView

__all__ = ["router"]

router = APIRouter(tags=["market"], route_class=GuardedRoute)

AddressPath = Annotated[AddressStr, Path(description="The account's address.")]


@router.get("/market", response_model=MarketView, responses=errors())
def get_market(market: MarketReaderDep) -> MarketView:
    """The market's address, fee (basis points of the price, fixed per sale at purchase),
    treasury, the shipping, delivery and ruling windows (seconds), and its counters. 503
    ``configuration_error`` when the deployment has no market."""
    info = market.info()
    return MarketView(
        address=info.address,
        passport=info.passport,
        treasury=info.treasury,
        fee_bps=info.fee_bps,
        shipping_window=info.shipping_window,
        delivery_window=info.delivery_window,
        ruling_window=info.ruling_window,
        listing_count=info.listing_count,
        sale_count=info.sale_count,
    )


@router.get("/accounts/{address}/credits", response_model=CreditsView, responses=errors())
def get_credits(address: AddressPath, market: MarketReaderDep) -> CreditsView:
    """What the account can withdraw from the market (wei, as a decimal string)."""
    return CreditsView(address=address, credits_wei=str(market.credits(address)))


@router.post(
    "/withdrawals",
    response_model=WithdrawalView,
    responses={**errors(401, 409, 502), **ACCEPTED},
)
def withdraw(operator: CurrentOperator, market: MarketDep, writer: WriterDep) -> JSONResponse:
    """Send the caller's account its whole market credit (any key). 409
    ``nothing_to_withdraw`` when it has none."""

    def operation() -> WithdrawalView:
        withdrawal = market.withdraw()
        return WithdrawalView(
            address=operator.address,
            amount_wei=str(withdrawal.amount),
            tx_hash=withdrawal.tx.tx_hash,
            block_number=withdrawal.tx.block_number,
            gas_used=withdrawal.tx.gas_used,
        )

    return writer.run(scope=operator.id, body=None, operation=operation)
