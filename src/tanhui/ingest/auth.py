from ninja.security import HttpBearer

from tanhui.ingest.services import api_key_for


class ProviderKey(HttpBearer):
    """`Authorization: Bearer <api key>`; `request.auth` is then that `ApiKey`: the request acts as its
    provider and no other, for the key's scenarios only."""

    def authenticate(self, request, token):
        return api_key_for(token)
