"""An SMS sender for tests: keeps the messages instead of logging them."""

import re

sent: list[tuple[str, str]] = []


class OutboxSender:
    def send(self, phone: str, message: str) -> None:
        sent.append((phone, message))


def last_code() -> str:
    return re.search(r"\d{6}", sent[-1][1]).group()


def wrong_code() -> str:
    return f"{(int(last_code()) + 1) % 10**6:06d}"
