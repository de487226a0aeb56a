"""Notification channels: render a message for an alert group and send it once.

Channels never retry; they raise `RetryableError` or `PermanentError` and the outbox
retries with backoff. `build_channels()` turns a receiver's `*_configs` into channels.
"""

from tocsin.notify.config import CHANNEL_KEYS, build_channels
from tocsin.notify.model import (
    Channel,
    DeliveryError,
    DeliveryResult,
    Notification,
    PermanentError,
    Reason,
    RetryableError,
    Status,
    for_channel,
)

__all__ = [
    "CHANNEL_KEYS",
    "Channel",
    "DeliveryError",
    "DeliveryResult",
    "Notification",
    "PermanentError",
    "Reason",
    "RetryableError",
    "Status",
    "build_channels",
    "for_channel",
]
