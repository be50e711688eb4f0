"""Enrollment's HTTP API."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from ips_shared.contracts.events import Ident, Transport

from .domain.applications import ApplicationRequest, EnrollmentError
from .service import EnrollmentService


class ApplicationIn(BaseModel):
    person_id: Ident
    transport: Transport
    work_settings: list[str] = Field(default_factory=list, max_length=20)


class ApplicationOut(BaseModel):
    application_id: str
    person_id: str
    intake: str = Field(description="The intake this application joined, e.g. 2027-spring")
    submitted_at: datetime


def router(service: EnrollmentService) -> APIRouter:
    api = APIRouter(tags=["applications"])

    @api.post("/applications", status_code=201, response_model=ApplicationOut)
    async def submit_application(body: ApplicationIn) -> ApplicationOut:
        request = ApplicationRequest(
            person_id=body.person_id,
            transport=body.transport,
            work_settings=tuple(body.work_settings),
            received_at=datetime.now(UTC),
        )
        application = await asyncio.to_thread(service.submit_application, request)
        return ApplicationOut(
            application_id=application.id,
            person_id=application.person_id,
            intake=application.intake,
            submitted_at=application.submitted_at,
        )

    return api


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(EnrollmentError)
    async def enrollment_error(_request: Request, error: EnrollmentError) -> JSONResponse:
        return JSONResponse({"code": error.code, "detail": str(error)}, status_code=error.status)
