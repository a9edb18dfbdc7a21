"""The gateway against its own OpenAPI document, with Schemathesis generating the requests.

Every operation gets `MAX_EXAMPLES` generated requests per caller (derandomized, so a run is
reproducible), sent once with the bootstrap admin key and once with a vetted merchant's key, to
a gateway on the embedded chain. Every response must pass Schemathesis' default checks: no
server error, a status code, content type and headers the document declares, a body matching
the declared schema, no invalid request accepted, and every valid request accepted.

"Valid" has one documented exception (`SEMANTIC_CODES`): rules JSON Schema cannot state. A
metadata or evidence document must canonicalise under RFC 8785 (no integer beyond +-2**53), a
brand or serial must survive Unicode normalisation, a relayed transaction must be a signed
transaction for this chain and contract, a relayed signed message's deadline must be ahead, and
a key's account must be one the gateway can sign for. A schema-valid request breaking one of
those gets 422 with that rule's code, and only that code is forgiven.

The app is built at import (its document needs no chain); requests reach it through
Schemathesis' own ASGI transport, so checks that send requests of their own (``ignored_auth``
repeats a request without its key) reach the same gateway. Schemathesis ends the app's lifespan
after every test and starts it again on the next request, so the app is given one embedded chain
of its own (a connection it never closes): keys, accounts and the deployment outlive restarts.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from eth_utils import to_checksum_address
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.core.parameters import ParameterLocation
from schemathesis.openapi.checks import RejectedPositiveData
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import positive_data_acceptance

from api.main import create_app
from ledger.chain import connect
from tests.api.conftest import make_settings

pytestmark = pytest.mark.slow

MAX_EXAMPLES = 25

SEMANTIC_CODES = frozenset(
    {
        "invalid_metadata",
        "invalid_credentials",
        "invalid_evidence",
        "invalid_brand",
        "invalid_serial",
        "malformed_transaction",
        "unsupported_transaction_type",
        "wrong_chain",
        "not_our_contract",
        "gas_limit_too_low",
        "fee_too_low",
        "signature_expired",
        "account_not_signable",
        "account_reserved",
        "invalid_admin_address",
    }
)

# Each test process (xdist worker) has its own app, data directory and embedded chain; the
# directory is created when the app starts.
_DATA_DIR = Path(tempfile.gettempdir()) / f"provenance-schemathesis-{uuid.uuid4().hex}"
_APP = create_app(make_settings(_DATA_DIR), connection=connect(target="embedded"))
schema = schemathesis.openapi.from_dict(_APP.openapi())
schema.app = _APP  # requests go to the app in-process (ASGI), not over the network
# The document's custom format for addresses (a pattern cannot state the EIP-55 checksum):
# checksummed or lower-case, as clients send them.
schemathesis.openapi.format(
    "eth-address",
    st.binary(min_size=20, max_size=20).flatmap(
        lambda raw: st.sampled_from([to_checksum_address(raw), "0x" + raw.hex()])
    ),
)


@pytest.fixture(scope="module")
def callers() -> Iterator[dict[str, dict[str, str]]]:
    """The Authorization headers of the admin and of a vetted merchant."""
    try:
        with asgi.get_client(_APP) as client:
            admin = {"Authorization": f"Bearer {(_DATA_DIR / 'admin.key').read_text().strip()}"}
            created = client.post(
                "/keys", json={"role": "merchant", "name": "Fuzz Resale"}, headers=admin
            )
            assert created.status_code == 201, created.text
            merchant = created.json()
            vetted = client.post(
                "/merchants",
                json={
                    "address": merchant["address"],
                    "name": "Fuzz Resale",
                    "credentials": {"id": uuid.uuid4().hex},
                },
                headers=admin,
            )
            assert vetted.status_code == 201, vetted.text
        yield {"admin": admin, "merchant": {"Authorization": f"Bearer {merchant['api_key']}"}}
    finally:
        asgi.shutdown_lifespans()
        shutil.rmtree(_DATA_DIR, ignore_errors=True)


def _mutated_headers(case: schemathesis.Case) -> set[str]:
    """The (lower-case) names of the headers a negative case made invalid."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_negative:
        return set()
    data = meta.phase.data
    found = [(data.parameter, data.parameter_location)]
    found += [(m.parameter, m.parameter_location) for m in data.mutations]
    return {name.lower() for name, where in found if name and where is ParameterLocation.HEADER}


def _error_code(response: Any) -> str | None:
    try:
        return str(response.json()["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return None


def positive_data_accepted(ctx: Any, response: Any, case: schemathesis.Case) -> bool | None:
    """Schemathesis' ``positive_data_acceptance``, forgiving only `SEMANTIC_CODES` (see above)."""
    try:
        return positive_data_acceptance(ctx, response, case)
    except RejectedPositiveData:
        if response.status_code == 422 and _error_code(response) in SEMANTIC_CODES:
            return None
        raise


@pytest.mark.parametrize("caller", ["admin", "merchant"])
@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_every_operation_conforms_to_the_document(
    case: schemathesis.Case, caller: str, callers: dict[str, dict[str, str]]
) -> None:
    # A fresh Idempotency-Key each time: generated ones repeat across different requests,
    # which the gateway rightly refuses (422 idempotency_key_reused). A header a negative case
    # made invalid on purpose is sent as generated.
    ours = {**callers[caller], "Idempotency-Key": uuid.uuid4().hex}
    mutated = _mutated_headers(case)
    headers = {name: value for name, value in ours.items() if name.lower() not in mutated}
    case.call_and_validate(
        base_url="http://testserver",  # the document has no servers; the ASGI client's host
        headers=headers,
        excluded_checks=[positive_data_acceptance],
        additional_checks=[positive_data_accepted],
    )
