"""The committed contract documents must match what the code generates."""

import json
from pathlib import Path

import pytest

from ips_shared.contracts.events import CATALOGUE
from ips_shared.contracts.schemas import event_schemas, render
from tests.unit.offline_service import offline_runtime

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "docs" / "schemas"
ASYNCAPI = ROOT / "docs" / "asyncapi"
SERVICES = ("enrollment", "certification", "notifications", "directory")
REGENERATE = "the contracts changed: run `make schemas` and commit docs/"


def test_committed_json_schemas_are_exactly_the_generated_set():
    generated = event_schemas()
    committed = {path.name for path in SCHEMAS.glob("*.json")}

    assert committed == set(generated), REGENERATE


@pytest.mark.parametrize("name", sorted(event_schemas()))
def test_committed_json_schema_matches_the_model(name):
    path = SCHEMAS / name
    assert path.is_file(), f"{path} is missing: {REGENERATE}"

    assert path.read_text() == render(event_schemas()[name]), f"{name} differs: {REGENERATE}"


def test_there_is_one_schema_file_per_catalogue_event():
    names = set(event_schemas())

    assert names == {f"{m.event_type}.v{m.schema_version}.json" for m in CATALOGUE}


def test_rendered_schema_ends_with_one_newline_and_has_sorted_keys():
    rendered = render(event_schemas()["HoursLogged.v1.json"])

    assert rendered.endswith("}\n")
    assert not rendered.endswith("\n\n")
    assert rendered == json.dumps(json.loads(rendered), indent=2, sort_keys=True) + "\n"


@pytest.mark.parametrize("name", sorted(event_schemas()))
def test_generated_schema_is_self_contained_and_describes_the_event(name):
    schema = event_schemas()[name]
    text = json.dumps(schema)
    model = next(m for m in CATALOGUE if name.startswith(f"{m.event_type}.v"))

    assert "$defs" not in text
    assert '"$ref"' not in text
    assert schema["title"] == model.event_type
    assert schema["x-subject"] == model.subject
    assert schema["x-schema-version"] == model.schema_version
    assert set(schema["properties"]["data"]["required"]) == {
        field_name for field_name, field in model.model_fields.items() if field.is_required()
    }


def asyncapi_document(service: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """What `ips-<service> asyncapi` prints, built in-process as the CLI builds it."""
    document = offline_runtime(service, monkeypatch).asyncapi()
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def test_committed_asyncapi_documents_are_exactly_one_per_service():
    assert {path.stem for path in ASYNCAPI.glob("*.json")} == set(SERVICES), REGENERATE


@pytest.mark.parametrize("service", SERVICES)
def test_committed_asyncapi_document_matches_the_service(service, monkeypatch):
    path = ASYNCAPI / f"{service}.json"
    assert path.is_file(), f"{path} is missing: {REGENERATE}"

    generated = asyncapi_document(service, monkeypatch)

    assert path.read_text() == generated, f"docs/asyncapi/{service}.json differs: {REGENERATE}"


def test_asyncapi_documents_what_enrollment_publishes(monkeypatch):
    document = json.loads(asyncapi_document("enrollment", monkeypatch))

    addresses = {channel["address"] for channel in document["channels"].values()}

    assert document["asyncapi"] == "3.0.0"
    assert document["info"]["title"] == "ips-enrollment"
    assert "ips.enrollment.application.submitted" in addresses


def test_asyncapi_documents_what_notifications_consumes(monkeypatch):
    document = json.loads(asyncapi_document("notifications", monkeypatch))

    addresses = {channel["address"] for channel in document["channels"].values()}

    assert "ips.enrollment.application.submitted" in addresses


def test_asyncapi_describes_the_partner_channel_as_one_cloudevent_per_message(monkeypatch):
    document = json.loads(asyncapi_document("certification", monkeypatch))

    [channel] = [c for c in document["channels"].values() if "hours.logged" in c["address"]]
    [reference] = channel["messages"].values()
    message = document["components"]["messages"][reference["$ref"].rsplit("/", 1)[-1]]
    payload = document["components"]["schemas"][message["payload"]["$ref"].rsplit("/", 1)[-1]]

    assert channel["address"] == "ips.hours.logged.{source_id}"
    assert "source_id" in channel["parameters"]
    assert payload["type"] == "object"  # one envelope, not a list of them
    assert payload["properties"]["type"]
    assert message["headers"]["required"] == ["Nats-Msg-Id"]
