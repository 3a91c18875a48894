from django.core.management import call_command

from tanhui.core.cli import JsonCommand
from tanhui.methodology.services import load_shipped_reference_data


class Command(JsonCommand):
    help = "Migrate the database and load the shipped reference data (scenarios, methodologies, factors). Idempotent."

    def run(self, **options) -> dict:
        call_command("migrate", interactive=False, verbosity=0)
        return {"migrated": True, **load_shipped_reference_data()}
