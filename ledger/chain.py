"""Connecting to a chain: an in-process test chain, a local anvil node, or any JSON-RPC URL.

Why this exists: the CLI, the API and the tests all need "a ``Web3`` for this target, plus keys
that can sign on it", and each target has its own quirks:

* ``embedded`` is eth-tester's in-process py-evm chain. py-evm is not thread-safe, so the
  provider used here serialises requests with a lock (concurrent senders would otherwise corrupt
  its state), and eth-tester reports reverts as a Python exception rather than JSON-RPC error data
  (see `ledger.tx.revert_data`).
* ``anvil`` attaches to a running node or starts one whose state persists in ``data_dir``.
* an ``http(s)://`` URL is checked with one quick ``eth_chainId`` before web3 is handed it, so an
  unreachable node fails at once with `ChainUnavailableError` instead of after web3's retries.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from eth_account import Account as EthAccount
from eth_account.signers.local import LocalAccount
from web3 import HTTPProvider, Web3
from web3.providers.eth_tester import EthereumTesterProvider
from web3.types import RPCEndpoint, RPCResponse

from ledger.errors import ChainUnavailableError, ConfigurationError, InputError
from ledger.node import AnvilError, AnvilNode, AnvilNotFoundError, attach_or_start, rpc_chain_id

__all__ = [
    "ANVIL_MNEMONIC",
    "ANVIL_URL_ENV_VAR",
    "DEFAULT_ANVIL_URL",
    "Connection",
    "EmbeddedProvider",
    "connect",
    "dev_accounts",
    "is_embedded",
]

ANVIL_URL_ENV_VAR = "PROVENANCE_ANVIL_URL"
DEFAULT_ANVIL_URL = "http://127.0.0.1:8545"
ANVIL_STATE_FILE = "anvil-state.json"
# anvil's (and hardhat's) well-known development mnemonic; its keys hold test ether only.
ANVIL_MNEMONIC = "test test test test test test test test test test test junk"
_ANVIL_HD_PATH = "m/44'/60'/0'/0/{index}"
# How many dev accounts are looked for on a node (anvil's default is 10).
_MAX_DEV_ACCOUNTS = 20
_RPC_TIMEOUT_SECONDS = 30.0
_PROBE_TIMEOUT_SECONDS = 3.0


class EmbeddedProvider(EthereumTesterProvider):
    """eth-tester's provider with its requests serialised, so several threads may share it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Re-entrant: eth-tester middleware may issue nested requests while one is in flight.
        self._lock = threading.RLock()

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        with self._lock:
            return super().make_request(method, params)


@dataclass
class Connection:
    """A ``Web3`` bound to a chain, and the anvil node started for it (if any)."""

    w3: Web3
    node: AnvilNode | None = None
    """The anvil node this connection started and will stop on `close`; None when attached."""
    url: str | None = None
    """The JSON-RPC URL, or None for the embedded chain."""

    @property
    def embedded(self) -> bool:
        return is_embedded(self.w3)

    def close(self) -> None:
        """Stop the node this connection started (it dumps its state first); idempotent."""
        node, self.node = self.node, None
        if node is not None:
            try:
                node.stop()
            except AnvilError as exc:
                raise ChainUnavailableError(f"anvil did not stop cleanly: {exc}") from exc

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def is_embedded(w3: Web3) -> bool:
    """True when ``w3`` talks to an in-process eth-tester chain."""
    return isinstance(w3.provider, EthereumTesterProvider)


def connect(*, target: str, data_dir: Path | None = None) -> Connection:
    """Connect to ``target``: ``"embedded"``, ``"anvil"`` or an ``http(s)://`` JSON-RPC URL.

    ``anvil`` attaches to ``$PROVENANCE_ANVIL_URL`` (default ``http://127.0.0.1:8545``) when a
    node answers there, and otherwise starts one listening there whose state is kept in
    ``<data_dir>/anvil-state.json`` (an ephemeral chain without ``data_dir``).
    """
    if target == "embedded":
        try:
            provider = EmbeddedProvider()
        except ImportError as exc:  # eth-tester is a development extra
            raise ConfigurationError(
                "the embedded chain needs eth-tester: pip install 'eth-tester[py-evm]'"
            ) from exc
        return Connection(w3=Web3(provider))
    if target == "anvil":
        return _connect_anvil(data_dir=data_dir)
    if target.startswith(("http://", "https://")):
        return Connection(w3=_http_web3(target), url=target)
    raise InputError(
        f"unknown chain target {target!r}: use 'embedded', 'anvil' or an http(s):// URL",
        field="target",
    )


def _connect_anvil(*, data_dir: Path | None) -> Connection:
    url = os.environ.get(ANVIL_URL_ENV_VAR) or DEFAULT_ANVIL_URL
    if not url.startswith(("http://", "https://")):
        raise ConfigurationError(f"${ANVIL_URL_ENV_VAR} must be an http(s):// URL, not {url!r}")
    state_path = data_dir / ANVIL_STATE_FILE if data_dir is not None else None
    try:
        node = attach_or_start(url=url, state_path=state_path)
    except AnvilNotFoundError as exc:
        raise ConfigurationError(str(exc)) from exc
    except AnvilError as exc:
        raise ChainUnavailableError(f"cannot reach or start anvil at {url}: {exc}") from exc
    try:
        w3 = _http_web3(node.rpc_url)
    except ChainUnavailableError:
        node.stop()
        raise
    return Connection(w3=w3, node=node if node.owned else None, url=node.rpc_url)


def _http_web3(url: str) -> Web3:
    # One cheap probe first: web3's HTTPProvider retries refused connections with back-off.
    if rpc_chain_id(url, timeout=_PROBE_TIMEOUT_SECONDS) is None:
        raise ChainUnavailableError(
            f"no Ethereum JSON-RPC node answers at {url} (is the node running and the URL right?)"
        )
    # web3's validation middleware asks for the chain id before every eth_call and
    # eth_estimateGas; it cannot change under a URL, so it is the one answer cached.
    provider = HTTPProvider(
        url,
        request_kwargs={"timeout": _RPC_TIMEOUT_SECONDS},
        cache_allowed_requests=True,
        cacheable_requests={RPCEndpoint("eth_chainId")},
    )
    return Web3(provider)


def dev_accounts(w3: Web3) -> list[LocalAccount]:
    """The node's deterministic development accounts, as local signing keys, in node order.

    eth-tester: the keys of its backend. Other nodes: anvil's default-mnemonic keys that the
    node reports as its accounts. Raises `ConfigurationError` when the node has none (a public
    chain): supply a real key there.
    """
    provider = w3.provider
    if isinstance(provider, EthereumTesterProvider):
        tester: Any = provider.ethereum_tester
        return [_account_from_key(key.to_bytes()) for key in tester.backend.account_keys]
    try:
        node_accounts = list(w3.eth.accounts)
    except Exception as exc:  # a node may refuse eth_accounts; that means "no dev accounts"
        raise ConfigurationError(f"the node does not list development accounts: {exc}") from exc
    known = {account.address: account for account in _mnemonic_accounts(_MAX_DEV_ACCOUNTS)}
    found = [known[address] for address in node_accounts if address in known]
    if not found:
        raise ConfigurationError(
            "the node has no anvil development accounts; configure a private key instead"
        )
    return found


def _account_from_key(key: bytes) -> LocalAccount:
    account: LocalAccount = EthAccount.from_key(key)
    return account


@lru_cache(maxsize=1)
def _mnemonic_accounts(count: int) -> tuple[LocalAccount, ...]:
    # Key derivation costs a PBKDF2 run per key, so the (public, well-known) keys are cached.
    EthAccount.enable_unaudited_hdwallet_features()
    return tuple(
        EthAccount.from_mnemonic(ANVIL_MNEMONIC, account_path=_ANVIL_HD_PATH.format(index=i))
        for i in range(count)
    )
