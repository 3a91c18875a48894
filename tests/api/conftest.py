import pytest
from django.db import transaction

from tests.api import world as city


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory):
    """One small city for the whole module, rolled back afterwards; each test runs in a savepoint
    inside it (pytest-django's `db`), so what one request changes the next one does not see."""
    with django_db_blocker.unblock(), transaction.atomic():
        built = city.build(tmp_path_factory.mktemp("world"))
        yield built
        transaction.set_rollback(True)
