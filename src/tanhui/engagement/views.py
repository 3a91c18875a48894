"""Engagement pages: citizens (campaigns, pledges, check-ins, quizzes, leaderboards, community and
unit, certification), organisers (campaign overview, units' plans and summaries, venue QR screens,
reports) and administrators (budgets, bonuses, quiz bank and editions, certification review).
Views are thin: every change goes through `engagement.services`, and every object is looked up
within what the user may see."""

import base64
from functools import wraps

import qrcode
import qrcode.image.svg
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_POST

from tanhui.core.errors import DomainError
from tanhui.core.timeutil import local_date
from tanhui.engagement import bank, forms, queries, reports, services, tokens
from tanhui.engagement.access import check_display, is_unit_staff, units_of
from tanhui.engagement.models import (
    Attempt,
    Award,
    Campaign,
    Certification,
    CertificationMaterial,
    CheckIn,
    Enrolment,
    Pledge,
    PledgeTask,
    Question,
    QuizEdition,
    TeamChallenge,
    UnitReport,
    Venue,
)
from tanhui.people.api import current_citizen
from tanhui.people.models import Community, Organisation
from tanhui.portal.access import admin_page, citizen_page, is_admin

SCOPE_LABELS = [("day", _lazy("今日")), ("week", _lazy("本周")), ("month", _lazy("本月")), ("all", _lazy("累计"))]


def _citizen_or_none(request):
    try:
        return current_citizen(request)
    except DomainError:
        return None


def _done(request, action, success: str | None = None):
    """Runs a service call; its DomainError becomes an error message. Returns the result or None."""
    try:
        result = action()
    except DomainError as exc:
        messages.error(request, exc.message)
        return None
    if success:
        messages.success(request, success)
    return result


def _form_errors(request, form) -> None:
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        messages.error(request, f"{label}：{' '.join(errors)}" if label else " ".join(errors))


def staff_page(view):
    """Administrators and staff of an organisation (campaign units)."""
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not (is_admin(request.user) or is_unit_staff(request.user)):
            raise PermissionDenied(_("仅限主管部门或活动单位人员"))
        return view(request, *args, **kwargs)

    return wrapper


# Citizens and the public -------------------------------------------------------------------------

def home(request):
    citizen = _citizen_or_none(request)
    today = local_date(timezone.now())
    context = {
        "campaigns": Campaign.objects.filter(status=Campaign.Status.PUBLISHED, ends_on__gte=today)
                                     .select_related("district"),
        "quizzes": QuizEdition.objects.filter(status=QuizEdition.Status.PUBLISHED, closes_at__gt=timezone.now()),
        "challenges": TeamChallenge.objects.filter(ends_on__gte=today),
        "citizen": citizen,
    }
    if citizen:
        context.update(
            pledges=Pledge.objects.filter(citizen=citizen).select_related("task").order_by("-task__day")[:10],
            awards=Award.objects.filter(citizen=citizen).select_related("campaign").order_by("-created_at")[:10],
            places={board: queries.my_place(board, citizen, "week") for board in queries.BOARDS})
    return render(request, "engagement/home.html", context)


def campaign(request, code):
    made = get_object_or_404(Campaign.objects.select_related("district"), code=code,
                             status__in=[Campaign.Status.PUBLISHED, Campaign.Status.CLOSED])
    citizen = _citizen_or_none(request)
    mine = {}
    if citizen:
        mine = {"enrolled": Enrolment.objects.filter(campaign=made, citizen=citizen).exists(),
                "pledged": set(Pledge.objects.filter(task__campaign=made, citizen=citizen)
                               .values_list("task_id", flat=True)),
                "points": sum(Award.objects.filter(campaign=made, citizen=citizen).values_list("points", flat=True))}
    return render(request, "engagement/campaign.html", {
        "campaign": made, "citizen": citizen, "mine": mine, "today": local_date(timezone.now()),
        "tasks": made.pledge_tasks.prefetch_related("scenarios"),
        "venues": made.venues.filter(active=True).select_related("district"),
        "units": made.units.select_related("organisation"), "scenarios": made.scenarios.all()})


@require_POST
@citizen_page
def enrol(request, citizen, code):
    made = get_object_or_404(Campaign, code=code, status=Campaign.Status.PUBLISHED)
    _done(request, lambda: services.enrol(made, citizen), _("已报名参加活动"))
    return redirect("engagement:campaign", code=code)


@require_POST
@citizen_page
def pledge(request, citizen, pk):
    task = get_object_or_404(PledgeTask, pk=pk, campaign__status=Campaign.Status.PUBLISHED)
    _done(request, lambda: services.pledge(task, citizen), _("已承诺：%(title)s") % {"title": task.title})
    return redirect("engagement:campaign", code=task.campaign.code)


@citizen_page
def checkin(request, citizen, code):
    venue = get_object_or_404(Venue.objects.select_related("campaign"), code=code, active=True)
    form = forms.CheckInForm(request.POST or None, initial={"token": request.GET.get("t", "")})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        done = _done(request, lambda: services.check_in(citizen, venue, data["token"], latitude=data["latitude"],
                                                        longitude=data["longitude"]))
        if done:
            messages.success(request, _("打卡成功：%(venue)s，获得 %(points)s 积分") % {"venue": venue.name,
                                                                                "points": done.points})
            return redirect("engagement:checkin-done", code=code)
    return render(request, "engagement/checkin.html", {"venue": venue, "form": form})


@citizen_page
def checkin_done(request, citizen, code):
    venue = get_object_or_404(Venue, code=code)
    return render(request, "engagement/checkin_done.html", {
        "venue": venue, "checkins": CheckIn.objects.filter(citizen=citizen).select_related("venue")
                                               .order_by("-created_at")[:10]})


def quizzes(request):
    citizen = _citizen_or_none(request)
    editions = list(QuizEdition.objects.filter(status=QuizEdition.Status.PUBLISHED).select_related("campaign"))
    now = timezone.now()
    for edition in editions:
        edition.open_now = edition.opens_at <= now < edition.closes_at
        edition.left = services.attempts_left(edition, citizen) if citizen else None
        edition.my_rank = services.quiz_rank(edition, citizen) if citizen else None
    active = Attempt.objects.filter(citizen=citizen, status=Attempt.Status.ACTIVE).first() if citizen else None
    return render(request, "engagement/quizzes.html", {"editions": editions, "active": active, "citizen": citizen})


@require_POST
@citizen_page
def quiz_start(request, citizen, code):
    edition = get_object_or_404(QuizEdition, code=code, status=QuizEdition.Status.PUBLISHED)
    attempt = _done(request, lambda: services.start_attempt(edition, citizen))
    return redirect("engagement:attempt", pk=attempt.pk) if attempt else redirect("engagement:quizzes")


@citizen_page
def attempt(request, citizen, pk):
    """The answer sheet while the attempt is active (a plain form: no script needed, the server keeps
    time); the result with the correct answers and explanations once it is over."""
    mine = get_object_or_404(Attempt.objects.select_related("edition"), pk=pk, citizen=citizen)
    if request.method == "POST" and mine.status == Attempt.Status.ACTIVE:
        answers = {str(qid): [int(v) for v in request.POST.getlist(f"q{qid}") if v.isdigit()]
                   for qid in mine.question_ids}
        if _done(request, lambda: services.submit_attempt(mine, answers)):
            messages.success(request, _("已交卷"))
        return redirect("engagement:attempt", pk=pk)
    if mine.status == Attempt.Status.ACTIVE:
        services.expire_overdue(citizen)
        mine.refresh_from_db()
    view = queries.attempt_view(mine)
    review = {r["id"]: r for r in view["review"] or []}
    for question in view["questions"]:
        question["review"] = review.get(question["id"])
        question["multiple"] = question["kind"] == Question.Kind.MULTIPLE
    return render(request, "engagement/attempt.html", {
        "attempt": mine, "view": view, "rank": services.quiz_rank(mine.edition, citizen)})


def quiz_ranking(request, code):
    edition = get_object_or_404(QuizEdition, code=code, status=QuizEdition.Status.PUBLISHED)
    organisation = request.GET.get("organisation")
    organisation_id = int(organisation) if organisation and organisation.isdigit() else None
    citizen = _citizen_or_none(request)
    rows = queries.quiz_ranking(edition, organisation_id=organisation_id)
    for row in rows:
        row["me"] = citizen is not None and row.pop("citizen_id") == citizen.pk
    return render(request, "engagement/quiz_ranking.html", {
        "edition": edition, "rows": rows, "participation": queries.participation(edition),
        "organisation_id": organisation_id, "me": services.quiz_rank(edition, citizen) if citizen else None})


def leaderboard(request):
    form = forms.BoardForm(request.GET or None)
    board, scope, day = form.values()
    citizen = _citizen_or_none(request)
    data = queries.leaderboard(board, scope, day, viewer=citizen)
    return render(request, "engagement/leaderboard.html", {
        "form": form, "data": data, "board": board, "scope": scope,
        "place": queries.my_place(board, citizen, scope, day) if citizen else None, "citizen": citizen})


@citizen_page
def community(request, citizen):
    groups = queries.my_groups(citizen)
    my_community = Community.objects.filter(pk=groups["communities"]).select_related("district").first()
    return render(request, "engagement/community.html", {
        "community": my_community,
        "organisation": Organisation.objects.filter(pk=groups["organisations"]).first(),
        "community_form": forms.CommunityForm(initial={"community": my_community}),
        "team_form": forms.TeamForm(),
        "places": [(label, queries.my_place("communities", citizen, scope)) for scope, label in SCOPE_LABELS],
        "certifications": Certification.objects.filter(community=my_community) if my_community else [],
    })


@require_POST
@citizen_page
def join_community(request, citizen):
    form = forms.CommunityForm(request.POST)
    if form.is_valid():
        services.join_community(citizen, form.cleaned_data["community"])
        messages.success(request, _("已加入社区：%(name)s") % {"name": form.cleaned_data["community"]})
    else:
        _form_errors(request, form)
    return redirect("engagement:community")


@require_POST
@citizen_page
def join_team(request, citizen):
    form = forms.TeamForm(request.POST)
    if form.is_valid():
        _done(request, lambda: services.join_team(citizen, form.cleaned_data["join_code"]), _("已加入单位"))
    else:
        _form_errors(request, form)
    return redirect("engagement:community")


@require_POST
@citizen_page
def leave_team(request, citizen):
    services.leave_team(citizen)
    messages.success(request, _("已退出单位"))
    return redirect("engagement:community")


def challenge(request, pk):
    made = get_object_or_404(TeamChallenge, pk=pk)
    return render(request, "engagement/challenge.html", {"challenge": made,
                                                         "rows": queries.challenge_standings(made)})


# Low-carbon community certification -------------------------------------------------------------

def certified(request):
    return render(request, "engagement/certified.html", {
        "awarded": Certification.objects.filter(status=Certification.Status.AWARDED)
                                        .select_related("community__district").order_by("-awarded_on")})


@citizen_page
def certification_apply(request, citizen):
    community_id = services.community_of(citizen)
    if community_id is None:
        messages.error(request, _("请先加入一个社区"))
        return redirect("engagement:community")
    my_community = Community.objects.get(pk=community_id)
    form = forms.CertificationForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        made = _done(request, lambda: services.apply_certification(
            request.user, my_community, data["level"], data["statement"], data["materials"]), _("申报已提交"))
        if made:
            return redirect("engagement:certification", pk=made.pk)
    return render(request, "engagement/certification_apply.html", {"form": form, "community": my_community})


def _visible_certification(request, pk) -> Certification:
    """The applicant's own applications, and every application for administrators."""
    if not request.user.is_authenticated:
        raise Http404
    found = Certification.objects.select_related("community__district", "applicant", "reviewed_by")
    if not is_admin(request.user):
        found = found.filter(applicant=request.user)
    return get_object_or_404(found, pk=pk)


def certification(request, pk):
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    found = _visible_certification(request, pk)
    admin = is_admin(request.user)
    if request.method == "POST":
        _certification_action(request, found, admin)
        return redirect("engagement:certification", pk=pk)
    return render(request, "engagement/certification.html", {
        "certification": found, "admin": admin, "materials": found.materials.all(),
        "resubmit_form": forms.ResubmitForm(), "review_form": forms.ReviewForm(),
        "award_form": forms.AwardForm(initial={"awarded_on": local_date(timezone.now())})})


def _certification_action(request, found: Certification, admin: bool) -> None:
    action = request.POST.get("action")
    if action == "resubmit":
        form = forms.ResubmitForm(request.POST, request.FILES)
        if form.is_valid():
            _done(request, lambda: services.resubmit_certification(
                found, request.user, form.cleaned_data["statement"], form.cleaned_data["materials"]), _("已重新提交"))
        else:
            _form_errors(request, form)
    elif action == "review" and admin:
        form = forms.ReviewForm(request.POST)
        if form.is_valid():
            _done(request, lambda: services.review_certification(found, request.user, **form.cleaned_data),
                  _("审核结论已保存"))
        else:
            _form_errors(request, form)
    elif action == "award" and admin:
        form = forms.AwardForm(request.POST)
        if form.is_valid():
            _done(request, lambda: services.award_certification(
                found, request.user, campaign=form.cleaned_data["campaign"], on=form.cleaned_data["awarded_on"]),
                _("已授牌"))
        else:
            _form_errors(request, form)
    else:
        raise PermissionDenied


def certificate(request, pk):
    """An awarded community's certificate is public, like the list of awarded communities."""
    found = get_object_or_404(Certification.objects.select_related("community__district"), pk=pk,
                              status=Certification.Status.AWARDED)
    response = HttpResponse(reports.certificate_pdf(found), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{found.certificate_no}.pdf"'
    return response


def material(request, pk):
    item = get_object_or_404(CertificationMaterial, pk=pk)
    _visible_certification(request, item.certification_id)
    return FileResponse(item.file.open("rb"), as_attachment=True, filename=item.original_name)


# Organisers and administrators -------------------------------------------------------------------

@staff_page
def manage(request):
    admin = is_admin(request.user)
    form = forms.CampaignForm(request.POST or None) if admin else None
    if request.method == "POST" and admin and form.is_valid():
        made = form.save(commit=False)
        made.created_by = request.user
        made.save()
        form.save_m2m()
        messages.success(request, _("活动已创建（草稿）"))
        return redirect("engagement:manage-campaign", code=made.code)
    return render(request, "engagement/manage/index.html", {
        "admin": admin, "form": form,
        "campaigns": Campaign.objects.annotate(n=Count("enrolments")) if admin else None,
        "units": units_of(request.user).filter(campaign__status__in=[Campaign.Status.PUBLISHED,
                                                                     Campaign.Status.DRAFT]) if not admin else None,
    })


@admin_page
def manage_campaign(request, code):
    made = get_object_or_404(Campaign, code=code)
    return render(request, "engagement/manage/campaign.html", {
        "campaign": made, "budget": services.budget(made), "reporting": reports.reporting(made),
        "venues": made.venues.select_related("unit__organisation"), "tasks": made.pledge_tasks.annotate(
            n=Count("pledges")),
        "fund_form": forms.FundForm(), "unit_form": forms.UnitForm(), "venue_form": forms.VenueForm(campaign=made),
        "task_form": forms.PledgeTaskForm(), "enrolled": made.enrolments.count()})


def _campaign_post(form_class, success, apply, needs_campaign=False):
    """A POST-only admin action on a campaign: validate the form, apply it, back to the overview."""
    @require_POST
    @admin_page
    def view(request, code):
        made = get_object_or_404(Campaign, code=code)
        form = form_class(request.POST, campaign=made) if needs_campaign else form_class(request.POST)
        if form.is_valid():
            _done(request, lambda: apply(request, made, form), success)
        else:
            _form_errors(request, form)
        return redirect("engagement:manage-campaign", code=code)

    return view


def _save_child(request, made, form):
    child = form.save(commit=False)
    child.campaign = made
    child.save()
    form.save_m2m()


fund = _campaign_post(forms.FundForm, _("预算已拨付"), lambda request, made, form: services.fund_campaign(
    made, form.cleaned_data["points"], by=request.user, memo=form.cleaned_data["memo"]))
add_unit = _campaign_post(forms.UnitForm, _("单位已添加"), _save_child)
add_venue = _campaign_post(forms.VenueForm, _("场所已添加"), _save_child, needs_campaign=True)
add_task = _campaign_post(forms.PledgeTaskForm, _("承诺任务已添加"), _save_child)


@require_POST
@admin_page
def campaign_status(request, code):
    made = get_object_or_404(Campaign, code=code)
    status = request.POST.get("status")
    if status in Campaign.Status.values:
        Campaign.objects.filter(pk=made.pk).update(status=status)
        messages.success(request, _("活动状态已更新为：%(status)s") % {"status": Campaign.Status(status).label})
    return redirect("engagement:manage-campaign", code=code)


@require_POST
@admin_page
def award(request, code):
    made = get_object_or_404(Campaign, code=code)
    result = _done(request, lambda: services.award_bonuses(made))
    if result:
        messages.success(request, _("已发放加成奖励 %(n)s 笔共 %(points)s 积分；兑现承诺 %(pledges)s 个；"
                                    "预算余额 %(left)s") % {
            "n": result["bonus_awards"], "points": result["bonus_points"], "pledges": result["pledges_fulfilled"],
            "left": result["budget_left"]})
        if result["budget_exhausted"]:
            messages.warning(request, _("预算已用尽：%(unpaid)s 积分未能发放，追加预算后再次发放即可补发") % {
                "unpaid": result["unpaid_points"]})
    return redirect("engagement:manage-campaign", code=code)


@admin_page
def campaign_report(request, code):
    made = get_object_or_404(Campaign, code=code)
    return render(request, "engagement/manage/report.html", {"report": reports.campaign_report(made),
                                                              "campaign": made})


@admin_page
def campaign_report_xlsx(request, code):
    made = get_object_or_404(Campaign, code=code)
    content = reports.report_xlsx(reports.campaign_report(made), reports.reporting(made))
    response = HttpResponse(content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = f'attachment; filename="campaign-{made.code}.xlsx"'
    return response


@staff_page
def unit(request, pk):
    """A unit's page for its staff: its duties, deadlines, venues, and the plan and summary uploads."""
    mine = get_object_or_404(units_of(request.user), pk=pk)
    form = forms.ReportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if _done(request, lambda: services.submit_report(mine, data["kind"], data["file"], request.user,
                                                         data["note"]), _("材料已报送")):
            return redirect("engagement:unit", pk=pk)
    status = next((row for row in reports.reporting(mine.campaign)["rows"] if row["unit"].pk == mine.pk), None)
    return render(request, "engagement/manage/unit.html", {
        "unit": mine, "campaign": mine.campaign, "form": form, "status": status,
        "reports": mine.reports.select_related("submitted_by").order_by("-submitted_at"),
        "venues": mine.venues.all()})


@staff_page
def report_file(request, pk):
    item = get_object_or_404(UnitReport.objects.filter(unit__in=units_of(request.user)), pk=pk)
    return FileResponse(item.file.open("rb"), as_attachment=True, filename=item.original_name)


@staff_page
def venue_display(request, code):
    """The screen at the venue: the current QR code, reloaded (no script needed) before it changes."""
    venue = get_object_or_404(Venue.objects.select_related("unit"), code=code, active=True)
    check_display(request.user, venue)
    token, changes_at = tokens.current(venue)
    seconds = max(int((changes_at - timezone.now()).total_seconds()) + 1, 1)
    url = request.build_absolute_uri(tokens.checkin_path(venue, token))
    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, box_size=12).to_string()
    return render(request, "engagement/manage/venue_display.html", {
        "venue": venue, "token": token, "refresh": seconds, "url": url,
        "qr": "data:image/svg+xml;base64," + base64.b64encode(image).decode()})


@admin_page
def manage_quizzes(request):
    import_form = forms.QuestionImportForm()
    edition_form = forms.EditionForm(request.POST or None if request.POST.get("action") == "edition" else None)
    if request.method == "POST" and request.POST.get("action") == "import":
        import_form = forms.QuestionImportForm(request.POST, request.FILES)
        if import_form.is_valid():
            result = _done(request, lambda: bank.import_questions(import_form.cleaned_data["file"]))
            if result:
                messages.success(request, _("导入完成：新增 %(created)s，更新 %(updated)s，拒收 %(rejected)s") %
                                 result.as_dict())
                for error in result.errors[:20]:
                    messages.warning(request, _("第 %(row)s 行：%(message)s") % error)
            return redirect("engagement:manage-quizzes")
    if request.method == "POST" and edition_form is not None and edition_form.is_valid():
        made = edition_form.save()
        messages.success(request, _("竞赛已创建"))
        return redirect("engagement:manage-quiz", code=made.code)
    return render(request, "engagement/manage/quizzes.html", {
        "import_form": import_form, "edition_form": edition_form or forms.EditionForm(),
        "editions": QuizEdition.objects.annotate(n=Count("attempts")),
        "bank": Question.objects.values_list("category").annotate(Count("id")).order_by("category"),
        "questions": Question.objects.count()})


@admin_page
def bank_export(request):
    response = HttpResponse(bank.export_questions(),
                            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = 'attachment; filename="question-bank.xlsx"'
    return response


@admin_page
def manage_quiz(request, code):
    edition = get_object_or_404(QuizEdition.objects.select_related("campaign"), code=code)
    if request.method == "POST":
        result = _done(request, lambda: services.award_quiz_prizes(edition))
        if result:
            messages.success(request, _("排名奖励：%(paid)s 人共 %(points)s 积分") % result)
        return redirect("engagement:manage-quiz", code=code)
    organisation = request.GET.get("organisation")
    return render(request, "engagement/manage/quiz.html", {
        "edition": edition, "participation": queries.participation(edition),
        "rows": queries.quiz_ranking(edition, organisation_id=int(organisation) if organisation
                                     and organisation.isdigit() else None, limit=100),
        "attempts": [(Attempt.Status(status).label, n) for status, n in
                     edition.attempts.values_list("status").annotate(Count("id")).order_by("status")]})


@admin_page
def manage_certifications(request):
    return render(request, "engagement/manage/certifications.html", {
        "pending": Certification.objects.filter(status__in=Certification.OPEN).select_related(
            "community__district").prefetch_related("materials"),
        "closed": Certification.objects.exclude(status__in=Certification.OPEN).select_related(
            "community__district")[:50]})
