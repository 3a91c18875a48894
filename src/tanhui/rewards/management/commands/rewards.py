from tanhui.core.cli import JsonCommand
from tanhui.rewards import demo, services


class Command(JsonCommand):
    help = "低碳惠生活: `rewards expire` (run every few minutes), `rewards demo-data`."

    def add_arguments(self, parser):
        sub = self.add_subcommands(parser)
        sub.add_parser("expire", help="expire the issued coupons whose time is up and release their points "
                                      "(one transaction)")
        sub.add_parser("demo-data", help="merchants, offers, coupons, budgets and charity projects for the demo "
                                         "(idempotent)")

    def run(self, action, **options) -> dict:
        if action == "expire":
            return services.expire_coupons()
        return demo.fill()
