"""A three-node JetStream cluster on loopback, configured as production runs NATS: file
storage, `sync_interval: always` (every acknowledged message is on disk first), cluster
routes between the nodes, and the deployment's identities (`ips-access`). Each node is a
real `nats-server` process that a test may kill and start again."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from embedded_nats import free_port, nats_server_binary
from ips_shared.nats_access import AccessDirectory

CLUSTER_NAME = "ips"


@dataclass
class ClusterNode:
    name: str
    folder: Path
    port: int = field(default_factory=free_port)
    route_port: int = field(default_factory=free_port)
    monitor_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def configure(self, peers: list[ClusterNode], access: AccessDirectory) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        routes = ", ".join(f"nats-route://127.0.0.1:{peer.route_port}" for peer in peers)
        auth = os.path.relpath(access.auth_conf.resolve(), self.folder.resolve())
        config = self.folder / "server.conf"
        config.write_text(
            f"server_name: {self.name}\n"
            f"listen: 127.0.0.1:{self.port}\n"
            f"http: 127.0.0.1:{self.monitor_port}\n"
            f'jetstream {{ store_dir: "{self.folder / "jetstream"}", sync_interval: always }}\n'
            f"cluster {{ name: {CLUSTER_NAME}, listen: 127.0.0.1:{self.route_port},"
            f" routes: [{routes}] }}\n"
            f'include "{auth}"\n'
        )
        return config

    def start(self) -> None:
        command = [nats_server_binary(), "--config", str(self.folder / "server.conf")]
        command += ["--log", str(self.folder / "nats-server.log")]
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, start_new_session=True)

    def kill(self) -> None:
        """`kill -9`: no goodbye to the cluster or the clients."""
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
            self.process = None

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None

    def jetstream_state(self) -> dict[str, object]:
        with urllib.request.urlopen(
            f"http://127.0.0.1:{self.monitor_port}/jsz", timeout=1
        ) as answer:
            return json.loads(answer.read())  # type: ignore[no-any-return]


@dataclass
class NatsCluster:
    nodes: list[ClusterNode]
    access: AccessDirectory

    @property
    def url(self) -> str:
        """All the nodes, as a service's `NATS_URL` lists a cluster."""
        return ",".join(node.url for node in self.nodes)

    @classmethod
    def start(cls, folder: Path, size: int = 3, timeout: float = 30.0) -> NatsCluster:
        access = AccessDirectory(folder / "access")
        access.initialise()
        nodes = [ClusterNode(f"n{number}", folder / f"n{number}") for number in range(1, size + 1)]
        for node in nodes:
            node.configure([peer for peer in nodes if peer is not node], access)
        cluster = cls(nodes, access)
        for node in nodes:
            node.start()
        cluster.wait_for_leader(timeout)
        return cluster

    def wait_for_leader(self, timeout: float = 30.0) -> str:
        """Until the nodes running agree on a JetStream meta leader; its name."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for node in self.nodes:
                if node.process is None:
                    continue
                try:
                    meta = node.jetstream_state().get("meta_cluster") or {}
                except OSError:
                    continue
                leader = meta.get("leader") if isinstance(meta, dict) else None
                if leader:
                    return str(leader)
            time.sleep(0.2)
        raise RuntimeError(f"no JetStream meta leader within {timeout}s")

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()
