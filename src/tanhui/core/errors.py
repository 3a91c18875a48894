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


class RowRejected(Exception):
    """One row of an import is refused for `reason` (a reason code); the import goes on."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason
