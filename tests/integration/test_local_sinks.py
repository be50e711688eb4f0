"""The local sinks for notifications (deploy/local/sinks.py), through real conversations: an
SMTP server that keeps each message as an `.eml` file and an HTTP endpoint for texts that
keeps each as a `.json` file; both refuse, temporarily or for good, when told."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

import httpx
import pytest

from sinks import MailSink, TextSink


def confirmation(
    to: str = "peer@example.org", subject: str = "Application received"
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Maine IPS <no-reply@ips.example.org>"
    message["To"] = to
    message["Subject"] = subject
    message.set_content("We received your application, Zoë. Your intake: 2027-spring.\n")
    return message


def send(sink: MailSink, message: EmailMessage) -> None:
    with smtplib.SMTP(sink.host, sink.port, timeout=10) as client:
        client.send_message(message)


def test_a_message_sent_over_smtp_lands_as_an_eml_file_and_in_messages(
    mail_sink: MailSink,
) -> None:
    send(mail_sink, confirmation(subject="Bienvenue à la formation"))
    send(mail_sink, confirmation(to="other@example.org", subject="Second"))

    files = sorted(mail_sink.folder.iterdir())
    assert [path.suffix for path in files] == [".eml", ".eml"]  # no temporary file left
    received = mail_sink.messages()
    assert [m["Subject"] for m in received] == ["Bienvenue à la formation", "Second"]  # in order
    assert [m["To"] for m in received] == ["peer@example.org", "other@example.org"]
    assert "Zoë" in received[0].get_content()
    assert isinstance(received[0], EmailMessage)
    # The file is what a mail program opens: the raw message.
    assert b"Subject: Bienvenue" in files[0].read_bytes()


async def test_a_message_sent_with_aiosmtplib_lands_too(mail_sink: MailSink) -> None:
    aiosmtplib = pytest.importorskip("aiosmtplib")

    await aiosmtplib.send(confirmation(), hostname=mail_sink.host, port=mail_sink.port)

    assert [m["Subject"] for m in mail_sink.wait_for_messages(1)] == ["Application received"]


def test_fail_next_refuses_one_message_temporarily_then_accepts(mail_sink: MailSink) -> None:
    mail_sink.fail_next(1, 451)

    with pytest.raises(smtplib.SMTPDataError) as refused:
        send(mail_sink, confirmation(subject="first try"))
    assert refused.value.smtp_code == 451  # 4xx: try again later
    send(mail_sink, confirmation(subject="second try"))

    assert [m["Subject"] for m in mail_sink.messages()] == ["second try"]


def test_fail_all_refuses_permanently_until_accept_all(mail_sink: MailSink) -> None:
    mail_sink.fail_all(550)

    for _ in range(3):
        with pytest.raises(smtplib.SMTPDataError) as refused:
            send(mail_sink, confirmation())
        assert refused.value.smtp_code == 550  # 5xx: do not retry
    assert mail_sink.messages() == []

    mail_sink.accept_all()
    send(mail_sink, confirmation())
    assert len(mail_sink.messages()) == 1


def test_refusals_outside_smtp_failure_codes_are_rejected(mail_sink: MailSink) -> None:
    with pytest.raises(ValueError):
        mail_sink.fail_all(250)


TEXT = {"to": "+12075550100", "body": "Your application was received."}


def test_a_text_posted_is_stored_and_answered_with_its_id(text_sink: TextSink) -> None:
    answer = httpx.post(text_sink.url, json=TEXT)
    second = httpx.post(text_sink.url, json={**TEXT, "body": "Second"})

    assert answer.status_code == 202
    stored = text_sink.messages()
    assert [(m["id"], m["to"], m["body"]) for m in stored] == [
        (answer.json()["id"], TEXT["to"], TEXT["body"]),
        (second.json()["id"], TEXT["to"], "Second"),
    ]
    assert (text_sink.folder / f"{answer.json()['id']}.json").is_file()
    assert sorted(path.suffix for path in text_sink.folder.iterdir()) == [".json", ".json"]


def test_the_text_sink_refuses_temporarily_then_accepts(text_sink: TextSink) -> None:
    text_sink.fail_next(1, 503)

    refused = httpx.post(text_sink.url, json=TEXT)
    accepted = httpx.post(text_sink.url, json=TEXT)

    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "1"
    assert accepted.status_code == 202
    assert [m["id"] for m in text_sink.messages()] == [accepted.json()["id"]]


def test_the_text_sink_refuses_permanently_until_accept_all(text_sink: TextSink) -> None:
    text_sink.fail_all(400)

    assert [httpx.post(text_sink.url, json=TEXT).status_code for _ in range(3)] == [400] * 3
    assert text_sink.messages() == []
    text_sink.accept_all()
    assert httpx.post(text_sink.url, json=TEXT).status_code == 202


@pytest.mark.parametrize(
    "body",
    [{"to": "2075550100", "body": "no plus"}, {"to": "+12075550100"}, ["not", "an object"]],
)
def test_the_text_sink_answers_400_to_what_a_provider_would_refuse(
    text_sink: TextSink, body: object
) -> None:
    assert httpx.post(text_sink.url, json=body).status_code == 400
    assert httpx.post(text_sink.url.replace("/messages", "/other"), json=TEXT).status_code == 404
    assert text_sink.messages() == []
