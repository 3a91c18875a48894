"""Pluggable senders of one-time login codes. Choose one with settings.TANHUI_SMS_BACKEND."""

import logging

from django.conf import settings
from django.utils.module_loading import import_string

from tanhui.core.pii import mask_phone

log = logging.getLogger("tanhui.sms")


class ConsoleSender:
    """Development sender: logs the code with a masked number (never the full phone)."""

    def send(self, phone: str, message: str) -> None:
        log.info("SMS to %s: %s", mask_phone(phone), message)


def get_sender():
    return import_string(settings.TANHUI_SMS_BACKEND)()
