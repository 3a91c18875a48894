"""API schemas that several apps' routers share."""

from ninja import Schema


class Ok(Schema):
    """The body of an operation that has nothing to return but its success."""

    ok: bool = True
