"""One service, composed by its bootstrap: what its HTTP app, consumers, workers and
command line all use."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from fastapi import APIRouter, FastAPI

from .http import http_app
from .messaging.bus import MessageBus
from .runtime import ServiceRuntime


@dataclass
class Service:
    runtime: ServiceRuntime
    bus: MessageBus
    routers: Sequence[APIRouter] = field(default_factory=tuple)

    def http_app(self) -> FastAPI:
        """The web app: its lifespan runs the consumers and workers with it."""
        app = http_app(self.runtime, *self.routers)
        app.state.service = self
        return app
