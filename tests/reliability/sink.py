"""A local SMTP sink (aiosmtpd) that records every message it accepts."""

from __future__ import annotations

import asyncio
import threading
from email import message_from_bytes
from email.policy import default
from typing import Any

from aiosmtpd.controller import Controller


class _Handler:
    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.received: list[dict[str, str]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        msg = message_from_bytes(envelope.content, policy=default)
        with self.lock:
            self.received.append(
                {
                    "message_id": str(msg["Message-ID"]).strip(),
                    "to": str(msg["To"]),
                    "subject": str(msg["Subject"]),
                }
            )
        if self.delay:
            await asyncio.sleep(self.delay)
        return "250 OK"


class SmtpSink:
    """Start/stop on a fixed port: stopped, the port refuses connections (server down)."""

    def __init__(self, port: int, delay: float = 0.0) -> None:
        self.port = port
        self.handler = _Handler(delay)
        self.controller: Controller | None = None

    @property
    def received(self) -> list[dict[str, str]]:
        with self.handler.lock:
            return list(self.handler.received)

    def start(self) -> None:
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None
