"""Secrets generated once per installation and kept in TANHUI_HOME/secrets.json (mode 0600).

Set TANHUI_SECRETS_FILE to keep them elsewhere (for example a mounted secret volume).
"""

import json
import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet


def _new_secrets() -> dict:
    return {
        "django_secret_key": secrets.token_urlsafe(50),
        # Newest first: MultiFernet encrypts with the first and decrypts with any, so keys can rotate.
        "pii_keys": [Fernet.generate_key().decode()],
        "lookup_key": secrets.token_hex(32),
    }


def load_or_create_secrets(default_path: Path) -> dict:
    path = Path(os.environ.get("TANHUI_SECRETS_FILE", default_path))
    if path.exists():
        return json.loads(path.read_text())
    path.parent.mkdir(parents=True, exist_ok=True)
    data = _new_secrets()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f)
    return data
