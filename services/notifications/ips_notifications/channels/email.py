"""Email over SMTP, with an async client (aiosmtplib)."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formatdate

import aiosmtplib

from ips_shared.contracts.events import Channel

from ..domain.delivery import Outcome, Result
from ..domain.reasons import message_id
from . import Outgoing


class EmailChannel:
    """Sends each message in a connection of its own, with a `Message-ID` derived from the
    notification's identity: a copy sent again after a crash carries the same one.

    A 4xx reply, a refused or lost connection or a timeout is transient; a 5xx reply is
    permanent (but not a refused login: the service's own configuration, retried)."""

    channel = Channel.EMAIL

    def __init__(
        self,
        host: str,
        port: int,
        mail_from: str,
        *,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        timeout_seconds: float = 30.0,
    ) -> None:
        self._host, self._port = host, port
        self._mail_from = mail_from
        self._username, self._password = username, password
        self._starttls = starttls
        self._timeout = timeout_seconds

    def compose(self, message: Outgoing) -> EmailMessage:
        email = EmailMessage()
        email["From"] = self._mail_from
        email["To"] = message.address
        email["Subject"] = message.subject
        email["Message-ID"] = message_id(message.key, self._mail_from)
        email["Date"] = formatdate(localtime=False, usegmt=True)
        email.set_content(message.body)
        return email

    async def send(self, message: Outgoing) -> Result:
        try:
            await aiosmtplib.send(
                self.compose(message),
                hostname=self._host,
                port=self._port,
                username=self._username,
                password=self._password,
                start_tls=self._starttls,
                timeout=self._timeout,
            )
        except aiosmtplib.SMTPAuthenticationError as error:
            return Result(Outcome.TRANSIENT, f"smtp_auth_{error.code}")
        except aiosmtplib.SMTPRecipientsRefused as error:
            codes = [refused.code for refused in error.recipients]
            return _by_code(min(codes) if codes else 550)
        except aiosmtplib.SMTPResponseException as error:
            return _by_code(error.code)
        except aiosmtplib.SMTPTimeoutError:
            return Result(Outcome.TRANSIENT, "timeout")
        except (aiosmtplib.SMTPException, OSError) as error:
            if isinstance(error, ConnectionRefusedError):
                return Result(Outcome.TRANSIENT, "connection_refused")
            return Result(Outcome.TRANSIENT, "connection_failed")
        return Result(Outcome.DELIVERED)

    async def close(self) -> None:
        return None


def _by_code(code: int) -> Result:
    if 500 <= code < 600:
        return Result(Outcome.PERMANENT, f"smtp_{code}")
    return Result(Outcome.TRANSIENT, f"smtp_{code}")
