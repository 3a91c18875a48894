from ninja.security import HttpBearer

from tanhui.ingest.services import provider_for_key


class ProviderKey(HttpBearer):
    """`Authorization: Bearer <api key>`; the request then acts as that provider and no other."""

    def authenticate(self, request, token):
        return provider_for_key(token)
