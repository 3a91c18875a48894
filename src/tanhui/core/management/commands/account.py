from tanhui.core.cli import CommandError, JsonCommand
from tanhui.ledger.services import citizen_summary
from tanhui.people.phones import normalise_phone
from tanhui.people.services import find_citizen_by_phone


class Command(JsonCommand):
    help = "Show a citizen's carbon account: `account show PHONE`."

    def add_arguments(self, parser):
        sub = self.add_subcommands(parser)
        show = sub.add_parser("show", help="balance and credited reductions by scenario")
        show.add_argument("phone")

    def run(self, action, phone: str, **options) -> dict:
        normalised = normalise_phone(phone)
        citizen = find_citizen_by_phone(normalised) if normalised else None
        if citizen is None:
            raise CommandError("no citizen with that phone number")
        return citizen_summary(citizen.pk)
