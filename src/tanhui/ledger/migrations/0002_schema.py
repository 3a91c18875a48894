"""Database-held invariants: append-only tables, trigger-maintained balances (see ledger/schema.py)."""

from django.db import migrations

from tanhui.ledger import schema


class Migration(migrations.Migration):

    dependencies = [
        ("ledger", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(schema.install, schema.uninstall),
    ]
