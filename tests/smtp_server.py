"""A real SMTP server on 127.0.0.1 (aiosmtpd) for the mail tests: it keeps what arrives."""

from __future__ import annotations

import email
import email.policy
import socket

from xltools.mail import Message


class Collector:
    """An SMTP handler that keeps what arrives and refuses the addresses it is told to.

    ``refuse``: recipient addresses answered with 550. ``defer_data``: how many
    messages, from the first, to answer with 451 at the end of DATA (a server
    that is busy), before accepting again.
    """

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], email.message.EmailMessage]] = []
        self.refuse: set[str] = set()
        self.defer_data = 0
        self.port = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.defer_data:
            self.defer_data -= 1
            return "451 4.3.0 try again later"
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 Message accepted"


def free_port() -> int:
    """A port nothing listens on (just now)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def message(name: str, *to: str) -> Message:
    """A small message to send in tests: its name in the subject and both bodies."""
    return Message(
        name,
        list(to),
        f"Subject of {name}",
        f"Text of {name}",
        f"<p>HTML of {name}</p>",
        "coordinator@example.gov.uk",
    )
