"""The live channels of `carebot run`: each brings its web routes, its start and its sender."""

from __future__ import annotations

from typing import Protocol

from starlette.routing import BaseRoute

from bot.app import Carebot
from bot.handlers.delivery import Sender
from bot.handlers.inbound import InboundWorker
from bot.settings import Settings


class Channel(Protocol):
    """A transport (SMS, Telegram) as `carebot run` drives it."""

    name: str

    def state(self) -> str:
        """One line for /healthz and the start-up log."""
        ...

    def routes(self) -> list[BaseRoute]:
        """Webhook routes to mount on the app."""
        ...

    async def start(self, bot: Carebot, inbound: InboundWorker) -> None:
        """Begin receiving and sending (webhook registration, polling, the outbox sender).

        Webhooks and polling call `bot.accept(...)`, answer, then `inbound.wake()`.
        """
        ...

    def wake(self) -> None:
        """Messages were committed: send them now."""
        ...

    async def stop(self) -> None:
        """Stop receiving and sending."""
        ...


class SendsFromOutbox:
    """What the channels share that drain the outbox through a Sender: waking it."""

    sender: Sender | None = None  # from `start` on

    def wake(self) -> None:
        """Messages were committed: send them now."""
        if self.sender is not None:
            self.sender.wake()


def build_channels(settings: Settings) -> tuple[list[Channel], dict[str, str]]:
    """The configured channels, and a state line for each known one (configured or off).

    Raises ConfigError when a channel is only half configured.
    """
    from bot.handlers import sms, telegram

    channels: list[Channel] = []
    states: dict[str, str] = {}
    for name, module in (("sms", sms), ("telegram", telegram)):
        channel = module.build(settings)
        if channel is None:
            states[name] = f"off ({module.OFF_REASON})"
        else:
            channels.append(channel)
            states[name] = channel.state()
    return channels, states
