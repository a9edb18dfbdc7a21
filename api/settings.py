"""Gateway settings, read from ``PROVENANCE_*`` environment variables (pydantic-settings)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "get_settings"]


class Settings(BaseSettings):
    """Where the gateway keeps its data, which chain it talks to, and how it listens.

    Every field can be set as ``PROVENANCE_<FIELD>`` (``PROVENANCE_DATA_DIR``, ``PROVENANCE_CHAIN``,
    ``PROVENANCE_ADMIN_API_KEY``...). The signing key of the platform admin is chosen as the CLI
    does (``PROVENANCE_KEY_FILE``, ``PROVENANCE_PRIVATE_KEY``, else development account 0; see
    `ledger.config`).
    """

    model_config = SettingsConfigDict(env_prefix="PROVENANCE_", extra="ignore")

    data_dir: Path = Field(
        default=Path(".provenance"),
        description="Deployment records, gateway.db, admin.key, keystores, anvil state.",
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    chain: str = Field(
        default="anvil",
        description="'anvil' (attach or start a local node), 'embedded' (in-process test "
        "chain, state lost on exit) or an http(s):// JSON-RPC URL.",
    )
    admin_api_key: SecretStr | None = Field(
        default=None,
        description="The bootstrap admin API key; when unset one is generated on first start "
        "and written to <data dir>/admin.key (mode 0600).",
    )
    public_url: str | None = Field(
        default=None,
        description="Base URL clients reach the gateway at (token URIs point at "
        "<public_url>/items/, QR codes at <public_url>/verify/<item id>); default "
        "http://<host>:<port> (QR codes: the requesting client's base URL).",
    )
    faucet_wei: int = Field(
        default=10**18, gt=0, description="Gas money given to new accounts on local chains."
    )
    keystore_work_factor: int | None = Field(
        default=None,
        description="scrypt work factor for new keystores (default eth-keyfile's 2**18); only "
        "tests should lower it.",
    )
    send_workers: int = Field(
        default=32, ge=1, description="Threads finishing writes sent with ?wait=false."
    )
    relay_sponsor_per_signer: int = Field(
        default=20,
        ge=1,
        description="Signed messages (POST /relay transfer/permit) the gateway pays gas for, per "
        "signer per relay_sponsor_window.",
    )
    relay_sponsor_total: int = Field(
        default=1000,
        ge=1,
        description="Signed messages the gateway pays gas for, all signers together, per "
        "relay_sponsor_window.",
    )
    relay_sponsor_window: int = Field(
        default=3600, ge=1, description="Seconds over which the relay sponsor limits count."
    )
    index_interval: float = Field(
        default=0.5,
        gt=0,
        description="Seconds between polls of the event indexer (<data dir>/index.db).",
    )

    @field_validator("chain")
    @classmethod
    def _check_chain(cls, value: str) -> str:
        if value in ("anvil", "embedded") or value.startswith(("http://", "https://")):
            return value
        raise ValueError("chain must be 'anvil', 'embedded' or an http(s):// URL")

    @property
    def base_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings from the environment, read once per process."""
    return Settings()
