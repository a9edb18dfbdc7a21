"""What the gateway holds while it runs: the chain connection, the stores, and one client (so
one `TransactionSender`, so one nonce counter) per signing account.

Opened by the app's lifespan (`Gateway.open`) and closed when the app stops.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from eth_utils import to_checksum_address

from api.settings import Settings
from ledger.chain import Connection, connect
from ledger.client import ProvenanceClient
from ledger.config import Signer, deployment_path, resolve_signer
from ledger.deploy import Deployment, load_or_deploy
from ledger.errors import ConfigurationError, LedgerError
from ledger.faucet import Faucet
from ledger.idempotency import IdempotencyStore
from ledger.index_store import INDEX_FILE, IndexReader
from ledger.indexer import Indexer, contracts_of
from ledger.keys import (
    ADMIN_KEY_FILE,
    KeyManager,
    Keyring,
    KeyStore,
    read_or_create_secret,
)
from ledger.localdb import LocalDatabase
from ledger.market import MarketClient
from ledger.reads import ItemReads
from ledger.relay import MessageRelayer, Relayer, SponsorBudget
from ledger.submissions import SubmissionLog, install_send_observer

__all__ = ["Gateway"]

log = logging.getLogger(__name__)


@dataclass
class Gateway:
    settings: Settings
    connection: Connection
    deployment: Deployment
    admin: LocalAccount
    db: LocalDatabase
    key_manager: KeyManager
    idempotency: IdempotencyStore
    submissions: SubmissionLog
    reader: ProvenanceClient
    relayer: Relayer
    sponsor_budget: SponsorBudget
    executor: ThreadPoolExecutor
    _clients: dict[ChecksumAddress, ProvenanceClient] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _owns_connection: bool = True
    indexer: Indexer | None = None
    index_reader: IndexReader | None = None
    _index_stop: threading.Event = field(default_factory=threading.Event)
    _index_thread: threading.Thread | None = None
    _markets: dict[ChecksumAddress | None, MarketClient] = field(default_factory=dict)

    @classmethod
    def open(
        cls,
        settings: Settings,
        *,
        connection: Connection | None = None,
        signer: Signer | None = None,
    ) -> Gateway:
        """Connect (or use ``connection``, which then stays open on `close`), deploy once, open
        the stores. ``signer`` is the platform admin; default: as `ledger.config` chooses it."""
        data_dir = settings.data_dir
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        owned = connection is None
        chain = connect(target=settings.chain, data_dir=data_dir) if owned else connection
        assert chain is not None
        try:
            gateway = cls._open(settings, data_dir, chain, signer)
        except BaseException:
            if owned:
                chain.close()
            raise
        gateway._owns_connection = owned
        try:
            gateway._start_indexer()
        except BaseException:
            gateway.close()
            raise
        return gateway

    def _start_indexer(self) -> None:
        """Index the deployment's events into ``<data dir>/index.db``: one catch-up poll now
        (so the index exists before serving), then a background thread polling every
        ``settings.index_interval`` seconds until `close`."""
        indexer = Indexer(
            w3=self.connection.w3,
            contracts=contracts_of(self.deployment),
            db_path=self.settings.data_dir / INDEX_FILE,
            start_block=int(self.deployment.block_number),
            chain_id=int(self.deployment.chain_id),
        )
        self.indexer = indexer
        indexer.poll_once()
        self.index_reader = IndexReader(indexer.db_path)
        self._index_thread = threading.Thread(
            target=indexer.run,
            args=(self._index_stop, self.settings.index_interval),
            name="provenance-indexer",
            daemon=True,
        )
        self._index_thread.start()

    def catch_up_index(self) -> None:
        """Index up to the chain's head now (thread-safe: `Indexer.poll_once` holds a lock), so
        a read right after a write sees it. Failures are logged; readers fall back to chain."""
        if self.indexer is None:
            return
        try:
            self.indexer.poll_once()
        except Exception as exc:
            log.warning("index catch-up failed: %s", exc)

    def item_reads(self) -> ItemReads:
        """Item reads from the event index when it is caught up (`fresh_index`), else the chain."""
        return ItemReads(chain=self.reader, fresh_index=self.fresh_index)

    def fresh_index(self) -> IndexReader | None:
        """The event index if it holds every block up to the chain's head as of this call (it
        is caught up first), else None: not open, lagging or failing. Readers then read the
        chain, so an index read is never staler than a chain read started at the same moment
        (a write that has returned is in it)."""
        reader = self.index_reader
        if reader is None or self.indexer is None:
            return None
        try:
            head = int(self.connection.w3.eth.block_number)
            self.catch_up_index()
            indexed = reader.indexed_block
        except Exception as exc:  # the index is a cache: any failure means "read the chain"
            log.warning("event index unreadable, reading the chain: %s", exc)
            return None
        return reader if indexed is not None and indexed >= head else None

    @classmethod
    def _open(
        cls, settings: Settings, data_dir: Path, connection: Connection, signer: Signer | None
    ) -> Gateway:
        w3 = connection.w3
        install_send_observer(w3)
        if signer is None:
            signer = resolve_signer(w3=w3)
        if signer is None:
            raise ConfigurationError(
                "no signing key for the platform admin: set PROVENANCE_KEY_FILE or "
                "PROVENANCE_PRIVATE_KEY"
            )
        admin = signer.account
        chain_id = int(w3.eth.chain_id)
        deployment, fresh = load_or_deploy(
            w3=w3,
            path=deployment_path(data_dir=data_dir, chain_id=chain_id),
            admin=admin,
            base_uri=f"{settings.base_url}/items/",
        )
        log.info(
            "%s ItemPassport at %s on chain %d",
            "deployed" if fresh else "using",
            deployment.passport,
            chain_id,
        )
        reader = ProvenanceClient(w3=w3, deployment=deployment)
        if not reader.is_admin(admin.address):
            raise ConfigurationError(
                f"the signing key ({signer.source}, {admin.address}) is not the admin of the "
                f"passport contract {deployment.passport}"
            )
        db = LocalDatabase.open(data_dir)
        try:
            return cls._open_stores(settings, data_dir, connection, admin, deployment, reader, db)
        except BaseException:
            db.close()
            raise

    @classmethod
    def _open_stores(
        cls,
        settings: Settings,
        data_dir: Path,
        connection: Connection,
        admin: LocalAccount,
        deployment: Deployment,
        reader: ProvenanceClient,
        db: LocalDatabase,
    ) -> Gateway:
        w3 = connection.w3
        key_manager = KeyManager.open(
            w3=w3,
            data_dir=data_dir,
            admin=admin,
            db=db,
            work_factor=settings.keystore_work_factor,
            faucet_wei=settings.faucet_wei,
        )
        idempotency = IdempotencyStore(db)
        released = idempotency.release_unfinished()
        if released:
            log.info("released %d unfinished idempotent requests", released)
        secret = (
            settings.admin_api_key.get_secret_value()
            if settings.admin_api_key is not None
            else read_or_create_secret(data_dir / ADMIN_KEY_FILE, prefix="plk_")
        )
        key_manager.keys.ensure_bootstrap_admin(secret=secret, address=admin.address)
        if settings.admin_api_key is None:
            log.info("admin API key: see %s", (data_dir / ADMIN_KEY_FILE).resolve())
        admin_client = ProvenanceClient(w3=w3, deployment=deployment, account=admin)
        return cls(
            settings=settings,
            connection=connection,
            deployment=deployment,
            admin=admin,
            db=db,
            key_manager=key_manager,
            idempotency=idempotency,
            submissions=SubmissionLog(db),
            reader=reader,
            relayer=Relayer(
                w3=w3,
                decoder=reader.decoder,
                # The market too: buyers relay their own signed buy/confirmDelivery/openDispute.
                targets=[c for c in (deployment.passport, deployment.market) if c is not None],
            ),
            sponsor_budget=SponsorBudget(
                per_signer=settings.relay_sponsor_per_signer,
                total=settings.relay_sponsor_total,
                window=settings.relay_sponsor_window,
            ),
            executor=ThreadPoolExecutor(
                max_workers=settings.send_workers, thread_name_prefix="provenance-send"
            ),
            _clients={admin.address: admin_client},
        )

    @property
    def keys(self) -> KeyStore:
        return self.key_manager.keys

    @property
    def keyring(self) -> Keyring:
        return self.key_manager.keyring

    @property
    def faucet(self) -> Faucet | None:
        return self.key_manager.faucet

    @property
    def local_chain(self) -> bool:
        return self.faucet is not None

    def message_relayer(self) -> MessageRelayer:
        """Relays owner-signed messages on the admin's gas, within the sponsor budget. The
        admin's client: its one TransactionSender keeps the sponsor's nonces in order."""
        return MessageRelayer(
            sponsor=self.client_for(self.admin.address), budget=self.sponsor_budget
        )

    def client_for(self, address: str) -> ProvenanceClient:
        """The one client signing as ``address`` (created on first use)."""
        checksum = to_checksum_address(address)
        with self._lock:
            client = self._clients.get(checksum)
            if client is not None:
                return client
        account = self.keyring.get(checksum)  # may decrypt a keystore: outside the lock
        if account is None:
            raise ConfigurationError(f"the gateway holds no signing key for {checksum}")
        with self._lock:
            client = self._clients.get(checksum)
            if client is None:
                client = ProvenanceClient(
                    w3=self.connection.w3, deployment=self.deployment, account=account
                )
                self._clients[checksum] = client
            return client

    def market_for(self, address: str | None = None) -> MarketClient:
        """The one resale-market client signing as ``address`` (sharing `client_for`'s sender,
        so their nonces never collide), or the read-only one for None; created on first use.
        `ConfigurationError` when the deployment has no market."""
        checksum = None if address is None else to_checksum_address(address)
        with self._lock:
            market = self._markets.get(checksum)
        if market is not None:
            return market
        client = None if checksum is None else self.client_for(checksum)
        market = MarketClient(
            w3=self.connection.w3,
            deployment=self.deployment,
            account=None if client is None else client.account,
            sender=None if client is None else client.sender,
        )
        with self._lock:
            return self._markets.setdefault(checksum, market)

    def close(self) -> None:
        # Writes sent with ?wait=false finish (and are logged) before the node goes away.
        self.executor.shutdown(wait=True)
        self._index_stop.set()
        if self._index_thread is not None:
            self._index_thread.join(timeout=10)
        if self.index_reader is not None:
            self.index_reader.close()
        if self.indexer is not None:
            self.indexer.close()
        if self._owns_connection:  # a connection handed to `open` is its owner's to close
            try:
                self.connection.close()
            except LedgerError as exc:
                log.warning("closing the chain connection: %s", exc)
        self.db.close()
