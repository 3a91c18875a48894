"""Keys handed out before providers could hold several keep working after the migration."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tanhui.ingest.models import hash_api_key

BEFORE = [("ingest", "0004_alter_provider_api_key_rotated_at")]


def migrate(targets=None):
    """To `targets`, or else to the latest migrations, where the other tests expect the database."""
    executor = MigrationExecutor(connection)
    targets = targets or executor.loader.graph.leaf_nodes()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_a_providers_single_key_becomes_its_default_key(reference_data):
    from tanhui.ingest.services import api_key_for

    old_apps = migrate(BEFORE)
    provider = old_apps.get_model("ingest", "Provider").objects.create(
        code="metro_op", name="地铁", api_key_hash=hash_api_key("th_metro_op_old-secret"),
        api_key_prefix="th_metro_op_old-")
    provider.scenarios.set(old_apps.get_model("methodology", "Scenario").objects.filter(code="metro"))

    migrate()

    api_key = api_key_for("th_metro_op_old-secret")
    assert api_key.provider.code == "metro_op" and api_key.name == "default" and api_key.scenario_codes() == []
