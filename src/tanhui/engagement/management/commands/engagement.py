from pathlib import Path

from tanhui.core.cli import CommandError, JsonCommand
from tanhui.core.errors import DomainError
from tanhui.core.timeutil import parse_iso_date
from tanhui.engagement import bank, demo, reports, rollups, services
from tanhui.engagement.models import Campaign, QuizEdition


def _campaign(code: str) -> Campaign:
    found = Campaign.objects.filter(code=code).first()
    if found is None:
        raise CommandError(f"unknown campaign {code!r}")
    return found


class Command(JsonCommand):
    help = ("Campaigns, quizzes and leaderboards: award bonuses after ingestion, fund budgets, roll up the "
            "leaderboards, award quiz prizes, import/export the question bank, export a campaign report, demo data.")

    def add_arguments(self, parser):
        sub = self.add_subcommands(parser)
        award = sub.add_parser("award-bonuses", help="roll up new reductions, pay the campaign bonus of every "
                                                     "enrolled citizen's qualifying days and settle pledges "
                                                     "(idempotent per citizen, campaign and day)")
        award.add_argument("campaign")
        award.add_argument("--through", type=parse_iso_date, default=None, help="last day to award (YYYY-MM-DD)")
        fund = sub.add_parser("fund", help="top up a campaign budget with points minted from issuance")
        fund.add_argument("campaign")
        fund.add_argument("--points", type=int, required=True)
        fund.add_argument("--memo", default="")
        sub.add_parser("rollup", help="add the reductions of new ingest batches to the leaderboards")
        prizes = sub.add_parser("quiz-prizes", help="after a quiz closes, pay the top-N prize points")
        prizes.add_argument("edition")
        import_q = sub.add_parser("import-questions", help="question bank from Excel (题号, 题型, 类别, …)")
        import_q.add_argument("file", type=Path)
        export_q = sub.add_parser("export-questions", help="question bank to Excel")
        export_q.add_argument("file", type=Path)
        report = sub.add_parser("report", help="a campaign report as Excel")
        report.add_argument("campaign")
        report.add_argument("--out", type=Path, required=True)
        demo_data = sub.add_parser("demo-data", help="campaigns, venues, quiz, teams and participation for the demo")
        demo_data.add_argument("--seed", type=int, default=20240515)

    def run(self, action, **options) -> dict:
        try:
            return getattr(self, "do_" + action.replace("-", "_"))(**options)
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc

    def do_award_bonuses(self, campaign, through, **_):
        return services.award_bonuses(_campaign(campaign), through=through)

    def do_fund(self, campaign, points, memo, **_):
        made = _campaign(campaign)
        funding = services.fund_campaign(made, points, memo=memo)
        return {"campaign": made.code, "funding_id": funding.pk, **services.budget(made)}

    def do_rollup(self, **_):
        return rollups.catch_up()

    def do_quiz_prizes(self, edition, **_):
        found = QuizEdition.objects.filter(code=edition).first()
        if found is None:
            raise CommandError(f"unknown quiz edition {edition!r}")
        return services.award_quiz_prizes(found)

    def do_import_questions(self, file, **_):
        if not file.is_file():
            raise CommandError(f"no such file: {file}")
        return bank.import_questions(file).as_dict()

    def do_export_questions(self, file, **_):
        file.write_bytes(bank.export_questions())
        return {"file": str(file), "bytes": file.stat().st_size}

    def do_report(self, campaign, out, **_):
        made = _campaign(campaign)
        report = reports.campaign_report(made)
        out.write_bytes(reports.report_xlsx(report, reports.reporting(made)))
        return {"campaign": made.code, "file": str(out), "participants": report["participants"],
                "reduction_mg": report["reduction_mg"], "award_points": report["award_points"]}

    def do_demo_data(self, seed, **_):
        return demo.run(seed=seed)
