"""Domain errors carry a stable code that the API, pages and commands show as-is."""


class DomainError(Exception):
    status = 400

    def __init__(self, code: str, message: str, status: int | None = None):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        if status is not None:
            self.status = status


class Conflict(DomainError):
    status = 409


class NotAllowed(DomainError):
    status = 403
