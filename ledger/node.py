"""Start, stop and attach to a local anvil node.

Why this exists: tests, the demo and the API need a real JSON-RPC chain whose state survives a
restart. anvil comes from the npm package ``@foundry-rs/anvil-linux-amd64`` (pinned in
``package.json``), so no foundryup download is needed, and ``--state`` persists the chain.

Behaviour of anvil 1.7.1 ``--state`` that this module relies on (checked by running it):

* SIGTERM and SIGINT make anvil dump the state file before exiting; SIGKILL does not, so
  ``--state-interval`` also dumps periodically and a crash loses at most that many seconds.
* Blocks, transactions, receipts, balances and nonces survive a restart.
* If the state file's directory does not exist, anvil silently dumps nothing, so it is created
  here first.
* A truncated or empty state file makes anvil exit at start with a parse error (shown in the
  :class:`AnvilError` raised here).
* The chain id is not stored in the state: ``--chain-id`` wins when state is loaded.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import IO, Any
from urllib.parse import urlsplit

__all__ = [
    "ANVIL_ENV_VAR",
    "DEFAULT_ACCOUNTS",
    "DEFAULT_CHAIN_ID",
    "NPM_ANVIL_PATH",
    "STATE_INTERVAL_SECONDS",
    "AnvilError",
    "AnvilNode",
    "AnvilNotFoundError",
    "attach_or_start",
    "find_anvil",
    "rpc_chain_id",
]

ANVIL_ENV_VAR = "PROVENANCE_ANVIL"
NPM_ANVIL_PATH = Path("node_modules") / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"
DEFAULT_CHAIN_ID = 31337
DEFAULT_ACCOUNTS = 10
# anvil only takes whole seconds here.
STATE_INTERVAL_SECONDS = 5

_PROJECT_ROOT = Path(__file__).resolve().parent.parent
_POLL_SECONDS = 0.05
_PORT_ATTEMPTS = 3


class AnvilError(RuntimeError):
    """anvil could not be started, did not answer, or exited unexpectedly."""


class AnvilNotFoundError(AnvilError):
    """No anvil binary was found."""


def find_anvil() -> Path:
    """The anvil binary: ``$PROVENANCE_ANVIL``, else the npm-installed one, else PATH's."""
    override = os.environ.get(ANVIL_ENV_VAR)
    if override:
        path = Path(override)
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise AnvilNotFoundError(f"${ANVIL_ENV_VAR}={override} is not an executable file")
        return path
    npm = _PROJECT_ROOT / NPM_ANVIL_PATH
    if npm.is_file() and os.access(npm, os.X_OK):
        return npm
    on_path = shutil.which("anvil")
    if on_path is not None:
        return Path(on_path)
    raise AnvilNotFoundError(
        f"anvil not found: set ${ANVIL_ENV_VAR}, run `make install` (which puts it at "
        f"{npm}), or put `anvil` on PATH"
    )


def rpc_chain_id(url: str, *, timeout: float = 1.0) -> int | None:
    """The chain id reported by the JSON-RPC endpoint at ``url``, or None if nothing answers."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []})
    request = urllib.request.Request(
        url,
        data=body.encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            reply: Any = json.load(response)
        return int(reply["result"], 16)
    except (OSError, ValueError, KeyError, TypeError):
        # OSError covers refused connections, timeouts and HTTP errors (URLError is one).
        return None


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


class AnvilNode:
    """A local anvil node, either started (and owned) here or attached to.

    Use as a context manager: ``with AnvilNode(state_path=p) as node: ... node.rpc_url``.
    An attached node (see :meth:`attach`) is never stopped by this object.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        state_path: Path | None = None,
        chain_id: int = DEFAULT_CHAIN_ID,
        block_time: float | None = None,
        accounts: int = DEFAULT_ACCOUNTS,
        anvil: Path | None = None,
        startup_timeout: float = 30.0,
    ) -> None:
        self.host = host
        self.port = port
        self.state_path = state_path.resolve() if state_path is not None else None
        self.chain_id = chain_id
        self.block_time = block_time
        self.accounts = accounts
        self.anvil = anvil
        self.startup_timeout = startup_timeout
        self._owned = True
        self._url: str | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None

    @classmethod
    def attach(cls, *, url: str, timeout: float = 5.0) -> AnvilNode:
        """A handle on a node already answering at ``url``; :meth:`stop` leaves it running."""
        chain_id = rpc_chain_id(url, timeout=timeout)
        if chain_id is None:
            raise AnvilError(f"nothing answers eth_chainId at {url}")
        parts = urlsplit(url)
        node = cls(host=parts.hostname or "127.0.0.1", port=parts.port or 0, chain_id=chain_id)
        node._owned = False
        node._url = url
        return node

    @property
    def owned(self) -> bool:
        """True if this object started the node and will stop it."""
        return self._owned

    @property
    def running(self) -> bool:
        """True while an owned node's process is alive or an attached node is attached."""
        if not self._owned:
            return self._url is not None
        return self._process is not None and self._process.poll() is None

    @property
    def rpc_url(self) -> str:
        """The HTTP JSON-RPC URL, e.g. ``http://127.0.0.1:8545``."""
        if self._url is None:
            raise AnvilError("the node is not running; call start() or use it as a context manager")
        return self._url

    def command(self, *, port: int) -> list[str]:
        """The anvil command line this node runs with (exposed for logs and debugging)."""
        anvil = self.anvil if self.anvil is not None else find_anvil()
        cmd = [
            str(anvil),
            "--host", self.host,
            "--port", str(port),
            "--chain-id", str(self.chain_id),
            "--accounts", str(self.accounts),
            "--silent",
        ]  # fmt: skip
        if self.block_time is not None:
            cmd += ["--block-time", str(self.block_time)]
        if self.state_path is not None:
            cmd += [
                "--state", str(self.state_path),
                "--state-interval", str(STATE_INTERVAL_SECONDS),
            ]  # fmt: skip
        return cmd

    def start(self) -> AnvilNode:
        """Start anvil and wait until it answers ``eth_chainId``; returns ``self``."""
        if not self._owned:
            raise AnvilError("an attached node cannot be started")
        if self.running:
            return self
        if self.state_path is not None:
            self.state_path.parent.mkdir(parents=True, exist_ok=True)
        if self.port:
            url = self._url_for(self.port)
            if rpc_chain_id(url, timeout=0.5) is not None:
                raise AnvilError(f"something already answers at {url}; use attach_or_start()")
            self._launch(self.port)
            return self
        # A free port can be taken between probing and anvil binding it; retry a few times.
        for attempt in range(_PORT_ATTEMPTS):
            try:
                self._launch(_free_port(self.host))
                return self
            except AnvilError as exc:
                if "in use" not in str(exc).lower() or attempt == _PORT_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    def _url_for(self, port: int) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{port}"

    def _launch(self, port: int) -> None:
        cmd = self.command(port=port)
        # A file, not a pipe: nobody drains a pipe while anvil runs. It lives as long as the
        # process, so a with-block does not fit; _take_output() closes it.
        stderr = tempfile.TemporaryFile()  # noqa: SIM115
        try:
            process = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=stderr, stderr=stderr)
        except OSError as exc:
            stderr.close()
            raise AnvilError(f"cannot run {cmd[0]}: {exc}") from exc
        self._process, self._stderr = process, stderr
        url = self._url_for(port)
        deadline = time.monotonic() + self.startup_timeout
        while True:
            if process.poll() is not None:
                output = self._take_output()
                self._process = None
                raise AnvilError(
                    f"anvil exited with code {process.returncode} during start-up\n"
                    f"command: {' '.join(cmd)}\noutput:\n{output}"
                )
            answered = rpc_chain_id(url, timeout=0.5)
            if answered is not None:
                if answered != self.chain_id:
                    self._terminate()
                    raise AnvilError(
                        f"{url} answered chain id {answered}, expected {self.chain_id}: "
                        "another node took the port"
                    )
                self.port, self._url = port, url
                return
            if time.monotonic() > deadline:
                self._terminate()
                raise AnvilError(
                    f"anvil did not answer eth_chainId at {url} within {self.startup_timeout}s\n"
                    f"command: {' '.join(cmd)}\noutput:\n{self._take_output()}"
                )
            time.sleep(_POLL_SECONDS)

    def _take_output(self) -> str:
        if self._stderr is None:
            return ""
        self._stderr.seek(0)
        text = self._stderr.read().decode(errors="replace")
        self._stderr.close()
        self._stderr = None
        return text.strip() or "(none)"

    def _terminate(self, *, timeout: float = 10.0) -> int | None:
        process, self._process = self._process, None
        if process is None:
            return None
        if process.poll() is None:
            # SIGTERM, not SIGKILL: anvil writes the --state file on its way out.
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        return process.returncode

    def stop(self, *, timeout: float = 10.0) -> None:
        """Stop an owned node gracefully (so it dumps its state); detach from an attached one."""
        if not self._owned:
            self._url = None
            return
        process = self._process
        self._terminate(timeout=timeout)
        output = self._take_output()
        self._url = None
        if process is not None and process.returncode not in (0, -signal.SIGTERM):
            raise AnvilError(f"anvil exited with code {process.returncode}\noutput:\n{output}")

    def __enter__(self) -> AnvilNode:
        if self._owned:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self._url or f"{self.host}:{self.port or 'auto'}"
        role = "owned" if self._owned else "attached"
        return f"<AnvilNode {role} {where} chain_id={self.chain_id}>"


def attach_or_start(
    *,
    url: str,
    state_path: Path | None = None,
    chain_id: int = DEFAULT_CHAIN_ID,
    block_time: float | None = None,
    startup_timeout: float = 30.0,
) -> AnvilNode:
    """Attach to the node answering at ``url``, or start an owned one listening there.

    The returned node is already running; stopping it only stops what this call started.
    ``state_path`` and the other options apply only when a node is started.
    """
    if rpc_chain_id(url) is not None:
        return AnvilNode.attach(url=url)
    parts = urlsplit(url)
    if parts.scheme not in ("http", ""):
        raise AnvilError(f"can only start anvil for an http:// URL, not {url}")
    node = AnvilNode(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 8545,
        state_path=state_path,
        chain_id=chain_id,
        block_time=block_time,
        startup_timeout=startup_timeout,
    )
    return node.start()
