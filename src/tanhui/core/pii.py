"""Personal data at rest: encrypted fields and keyed look-up hashes.

Phone numbers and names are stored only as Fernet tokens (AES-128-CBC + HMAC), so a copy of the
database file reveals none of them. Look-ups by phone use an HMAC-SHA256 of the normalised number
with a separate key, so equal phones match without the number being stored.
"""

import hashlib
import hmac
from functools import cache

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings
from django.db import models


@cache
def _fernet() -> MultiFernet:
    return MultiFernet([Fernet(k.encode()) for k in settings.SECRETS["pii_keys"]])


def encrypt(value: str) -> str:
    return _fernet().encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    return _fernet().decrypt(token.encode()).decode()


def lookup_hash(value: str) -> str:
    key = settings.SECRETS["lookup_key"].encode()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def mask_name(name: str) -> str:
    """张三 → 张*, 欧阳娜娜 → 欧***; public lists never show a full name."""
    if not name:
        return "*"
    return name[0] + "*" * max(1, len(name) - 1)


def mask_phone(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:] if len(phone) == 11 else "***"


class EncryptedTextField(models.TextField):
    """A text column whose value is encrypted before it reaches the database."""

    def from_db_value(self, value, expression, connection):
        return None if value in (None, "") else decrypt(value)

    def get_prep_value(self, value):
        return None if value in (None, "") else encrypt(str(value))
