"""Campaigns (全国低碳日, 节能宣传周) with their units, venues, plans and summaries; pledges, check-ins,
knowledge quizzes, community and unit membership, low-carbon community certification, and the
rollups behind the leaderboards.

Every point an engagement activity pays is an `Award`: one ledger transaction from the paying
campaign's budget account (`ledger.services.named_account("campaign", code)`), whose idempotency
key the award row repeats. Rows change only through `engagement.services`.
"""

import secrets

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


def new_secret() -> str:
    return secrets.token_hex(32)


def new_join_code() -> str:
    return secrets.token_hex(4).upper()


class Campaign(models.Model):
    class Kind(models.TextChoices):
        LOW_CARBON_DAY = "low_carbon_day", _("全国低碳日")
        ENERGY_WEEK = "energy_week", _("节能宣传周")
        OTHER = "other", _("主题活动")

    class Status(models.TextChoices):
        DRAFT = "draft", _("草稿")
        PUBLISHED = "published", _("已发布")
        CLOSED = "closed", _("已结束")

    class BonusMode(models.TextChoices):
        NONE = "none", _("无奖励")
        MULTIPLIER = "multiplier", _("按减排积分加成")
        FIXED = "fixed", _("每个达标日固定奖励")

    code = models.SlugField(_("代码"), max_length=50, unique=True)
    name = models.CharField(_("名称"), max_length=200)
    kind = models.CharField(_("类型"), max_length=20, choices=Kind.choices, default=Kind.LOW_CARBON_DAY)
    theme = models.CharField(_("主题"), max_length=200, blank=True)
    description = models.TextField(_("说明"), blank=True)
    district = models.ForeignKey("people.District", on_delete=models.PROTECT, null=True, blank=True,
                                 verbose_name=_("范围（行政区）"), help_text=_("空表示全市"))
    starts_on = models.DateField(_("开始日期"))
    ends_on = models.DateField(_("结束日期"))
    status = models.CharField(_("状态"), max_length=12, choices=Status.choices, default=Status.DRAFT)
    scenarios = models.ManyToManyField("methodology.Scenario", blank=True, related_name="+",
                                       verbose_name=_("计奖场景"))
    bonus_mode = models.CharField(_("奖励方式"), max_length=12, choices=BonusMode.choices, default=BonusMode.NONE)
    bonus_percent = models.PositiveIntegerField(_("加成比例（%）"), default=0,
                                                help_text=_("按减排积分加成时：当日减排积分的百分之几"))
    bonus_points = models.PositiveIntegerField(_("固定奖励（积分）"), default=0,
                                               help_text=_("固定奖励时：每个达标日的积分"))
    bonus_cap = models.PositiveIntegerField(_("每人奖励上限（积分）"), default=0,
                                            help_text=_("整个活动期间每位市民可得的加成奖励上限"))
    plan_due = models.DateField(_("活动方案截止日期"), null=True, blank=True)
    summary_due = models.DateField(_("总结材料截止日期"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("活动")
        verbose_name_plural = _("活动")
        ordering = ["-starts_on", "code"]
        constraints = [models.CheckConstraint(condition=Q(ends_on__gte=F("starts_on")), name="campaign_window")]

    def __str__(self):
        return self.name

    def runs_on(self, day) -> bool:
        return self.starts_on <= day <= self.ends_on


class CampaignUnit(models.Model):
    """An organisation's part in a campaign (牵头/实施/配合单位, 分会场); units that must report submit an
    activity plan and a summary by the campaign's deadlines."""

    class Role(models.TextChoices):
        LEAD = "lead", _("牵头单位")
        IMPLEMENTING = "implementing", _("实施单位")
        SUPPORTING = "supporting", _("配合单位")
        BRANCH = "branch", _("分会场单位")

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="units")
    organisation = models.ForeignKey("people.Organisation", on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("单位"))
    role = models.CharField(_("角色"), max_length=14, choices=Role.choices)
    duty = models.CharField(_("分工"), max_length=200, blank=True)
    must_report = models.BooleanField(_("须报送方案与总结"), default=True)

    class Meta:
        verbose_name = _("活动单位")
        verbose_name_plural = _("活动单位")
        ordering = ["campaign", "role", "id"]
        constraints = [models.UniqueConstraint(fields=["campaign", "organisation", "role"],
                                               name="campaign_unit_role")]

    def __str__(self):
        return f"{self.organisation} · {self.get_role_display()}"


def report_path(instance, filename: str) -> str:
    return f"engagement/reports/{instance.unit.campaign.code}/{instance.unit_id}-{instance.kind}-{filename}"


class UnitReport(models.Model):
    """An activity plan (活动方案) or summary (总结材料) a unit uploaded; the first upload dates it."""

    class Kind(models.TextChoices):
        PLAN = "plan", _("活动方案")
        SUMMARY = "summary", _("总结材料")

    unit = models.ForeignKey(CampaignUnit, on_delete=models.CASCADE, related_name="reports")
    kind = models.CharField(_("类型"), max_length=8, choices=Kind.choices)
    file = models.FileField(_("文件"), upload_to=report_path)
    original_name = models.CharField(_("文件名"), max_length=200)
    note = models.CharField(_("说明"), max_length=500, blank=True)
    submitted_at = models.DateTimeField(_("提交时间"), auto_now_add=True)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("单位报送材料")
        verbose_name_plural = _("单位报送材料")
        ordering = ["submitted_at"]

    def __str__(self):
        return f"{self.unit} {self.get_kind_display()}"


class Enrolment(models.Model):
    """A citizen taking part in a campaign (参加活动): enrolled citizens earn its bonus; pledging, checking
    in at its venues and taking its quizzes enrol them too."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="enrolments")
    citizen = models.ForeignKey("people.Citizen", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("活动报名")
        verbose_name_plural = _("活动报名")
        constraints = [models.UniqueConstraint(fields=["campaign", "citizen"], name="one_enrolment_per_campaign")]

    def __str__(self):
        return f"{self.campaign.code}:{self.citizen_id}"


class Funding(models.Model):
    """A top-up of a campaign's budget account, minted from the ledger's issuance account."""

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="fundings")
    points = models.PositiveIntegerField(_("积分"))
    memo = models.CharField(_("说明"), max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("预算拨付")
        verbose_name_plural = _("预算拨付")

    def __str__(self):
        return f"{self.campaign.code} +{self.points}"


class Venue(models.Model):
    """A place of a campaign (主会场/外围场/分会场) or a standing low-carbon check-in point. Its QR code
    carries a token that rotates every `tokens.STEP_SECONDS`; `radius_m` > 0 adds a geofence."""

    class Role(models.TextChoices):
        MAIN = "main", _("主会场")
        PERIPHERAL = "peripheral", _("外围场")
        BRANCH = "branch", _("分会场")
        CHECKIN = "checkin", _("打卡点")

    class Kind(models.TextChoices):
        SCHOOL = "school", _("学校")
        SCENIC = "scenic", _("景区")
        COMMUNITY_CENTRE = "community_centre", _("社区中心")
        OFFICE = "office", _("机关单位")
        OTHER = "other", _("其他")

    code = models.SlugField(_("代码"), max_length=50, unique=True)
    name = models.CharField(_("名称"), max_length=200)
    kind = models.CharField(_("场所类型"), max_length=20, choices=Kind.choices, default=Kind.OTHER)
    role = models.CharField(_("会场角色"), max_length=12, choices=Role.choices, default=Role.CHECKIN)
    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, null=True, blank=True, related_name="venues",
                                 verbose_name=_("所属活动"), help_text=_("打卡积分由该活动预算支付"))
    unit = models.ForeignKey(CampaignUnit, on_delete=models.SET_NULL, null=True, blank=True, related_name="venues",
                             verbose_name=_("承办单位"))
    district = models.ForeignKey("people.District", on_delete=models.PROTECT, null=True, blank=True,
                                 verbose_name=_("行政区"))
    address = models.CharField(_("地址"), max_length=200, blank=True)
    latitude = models.DecimalField(_("纬度"), max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(_("经度"), max_digits=9, decimal_places=6, null=True, blank=True)
    radius_m = models.PositiveIntegerField(_("地理围栏半径（米）"), default=0, help_text=_("0 表示不校验位置"))
    points = models.PositiveIntegerField(_("每次打卡积分"), default=10)
    secret = models.CharField(max_length=64, default=new_secret, editable=False)
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("场所")
        verbose_name_plural = _("场所")
        ordering = ["code"]
        constraints = [models.CheckConstraint(
            condition=Q(radius_m=0) | Q(latitude__isnull=False, longitude__isnull=False), name="venue_geofence_centre")]

    def __str__(self):
        return self.name


class Award(models.Model):
    """Points paid to a citizen from a campaign budget: one ledger transaction with the same key."""

    class Kind(models.TextChoices):
        BONUS = "bonus", _("活动加成")
        PLEDGE = "pledge", _("承诺兑现")
        CHECKIN = "checkin", _("打卡")
        QUIZ_PASS = "quiz_pass", _("答题达标")
        QUIZ_TOP = "quiz_top", _("答题排名奖励")

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="awards")
    citizen = models.ForeignKey("people.Citizen", on_delete=models.PROTECT, related_name="+", db_index=False)
    kind = models.CharField(_("类型"), max_length=10, choices=Kind.choices)
    local_date = models.DateField(_("日期"))
    points = models.PositiveIntegerField(_("积分"))
    idempotency_key = models.CharField(max_length=200, unique=True)
    tx_id = models.BigIntegerField(_("账本交易"))
    memo = models.CharField(_("说明"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("奖励")
        verbose_name_plural = _("奖励")
        indexes = [models.Index(fields=["campaign", "citizen", "kind"], name="award_campaign_citizen")]

    def __str__(self):
        return f"{self.get_kind_display()} +{self.points}"


class PledgeTask(models.Model):
    """A pledge citizens can take, e.g. 少开一天车: fulfilled when the citizen has a record of one of
    `scenarios` on `day`."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="pledge_tasks")
    title = models.CharField(_("承诺"), max_length=100)
    description = models.CharField(_("说明"), max_length=300, blank=True)
    day = models.DateField(_("兑现日期"))
    scenarios = models.ManyToManyField("methodology.Scenario", related_name="+", verbose_name=_("认可场景"))
    points = models.PositiveIntegerField(_("兑现奖励（积分）"), default=0)

    class Meta:
        verbose_name = _("承诺任务")
        verbose_name_plural = _("承诺任务")
        ordering = ["day", "id"]

    def __str__(self):
        return f"{self.title} ({self.day})"


class Pledge(models.Model):
    class Status(models.TextChoices):
        PLEDGED = "pledged", _("已承诺")
        FULFILLED = "fulfilled", _("已兑现")
        MISSED = "missed", _("未兑现")

    task = models.ForeignKey(PledgeTask, on_delete=models.PROTECT, related_name="pledges")
    citizen = models.ForeignKey("people.Citizen", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.PLEDGED)
    created_at = models.DateTimeField(auto_now_add=True)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("承诺")
        verbose_name_plural = _("承诺")
        constraints = [models.UniqueConstraint(fields=["task", "citizen"], name="one_pledge_per_task")]

    def __str__(self):
        return f"{self.task.title}: {self.get_status_display()}"


class CheckIn(models.Model):
    venue = models.ForeignKey(Venue, on_delete=models.PROTECT, related_name="checkins")
    citizen = models.ForeignKey("people.Citizen", on_delete=models.PROTECT, related_name="+")
    local_date = models.DateField(_("日期"))
    created_at = models.DateTimeField(_("打卡时间"))
    points = models.PositiveIntegerField(_("积分"), default=0)

    class Meta:
        verbose_name = _("打卡")
        verbose_name_plural = _("打卡")
        constraints = [models.UniqueConstraint(fields=["venue", "citizen", "local_date"],
                                               name="one_checkin_per_venue_per_day")]

    def __str__(self):
        return f"{self.venue.code} {self.local_date}"


# Knowledge quizzes ------------------------------------------------------------------------------

class Question(models.Model):
    class Kind(models.TextChoices):
        SINGLE = "single", _("单选题")
        MULTIPLE = "multiple", _("多选题")
        TRUE_FALSE = "true_false", _("判断题")

    class Category(models.TextChoices):
        POLICY = "policy", _("政策")
        TECHNOLOGY = "technology", _("节能低碳技术")
        TIPS = "tips", _("生活窍门")

    code = models.CharField(_("题号"), max_length=30, unique=True)
    kind = models.CharField(_("题型"), max_length=10, choices=Kind.choices)
    category = models.CharField(_("类别"), max_length=12, choices=Category.choices)
    difficulty = models.PositiveSmallIntegerField(_("难度"), default=1, help_text=_("1 易，2 中，3 难"))
    text = models.TextField(_("题目"))
    options = models.JSONField(_("选项"), help_text=_("选项文字列表"))
    answer = models.JSONField(_("正确答案"), help_text=_("正确选项的序号列表（从 0 起）"))
    explanation = models.TextField(_("解析"), blank=True)
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("题目")
        verbose_name_plural = _("题库")
        ordering = ["code"]
        constraints = [models.CheckConstraint(condition=Q(difficulty__gte=1, difficulty__lte=3),
                                              name="question_difficulty")]

    def __str__(self):
        return f"{self.code} {self.text[:30]}"


class QuizEdition(models.Model):
    """One contest (e.g. 2024 节能知识竞赛): open from `opens_at` to `closes_at`; every attempt draws
    `question_count` questions at random and must be submitted within `time_limit_seconds`."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("草稿")
        PUBLISHED = "published", _("已发布")

    code = models.SlugField(_("代码"), max_length=50, unique=True)
    title = models.CharField(_("名称"), max_length=200)
    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, null=True, blank=True, related_name="quizzes",
                                 verbose_name=_("所属活动"), help_text=_("达标和排名奖励由该活动预算支付"))
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    opens_at = models.DateTimeField(_("开始时间"))
    closes_at = models.DateTimeField(_("结束时间"))
    question_count = models.PositiveSmallIntegerField(_("每次题数"), default=10)
    time_limit_seconds = models.PositiveIntegerField(_("限时（秒）"), default=300)
    attempts_per_day = models.PositiveSmallIntegerField(_("每日答题次数"), default=3)
    categories = models.JSONField(_("题目类别"), default=list, blank=True, help_text=_("空表示全部类别"))
    pass_percent = models.PositiveSmallIntegerField(_("达标分数线（%）"), default=60)
    pass_points = models.PositiveIntegerField(_("达标奖励（积分，每人一次）"), default=0)
    top_n = models.PositiveIntegerField(_("排名奖励人数"), default=0)
    top_points = models.PositiveIntegerField(_("排名奖励（积分）"), default=0)
    prize_note = models.CharField(_("奖品说明"), max_length=200, blank=True)
    prizes_awarded_at = models.DateTimeField(_("排名奖励发放时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("知识竞赛")
        verbose_name_plural = _("知识竞赛")
        ordering = ["-opens_at"]
        constraints = [
            models.CheckConstraint(condition=Q(closes_at__gt=F("opens_at")), name="quiz_window"),
            models.CheckConstraint(condition=Q(pass_percent__lte=100), name="quiz_pass_percent"),
        ]

    def __str__(self):
        return self.title


class Attempt(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("答题中")
        SUBMITTED = "submitted", _("已交卷")
        EXPIRED = "expired", _("已超时")

    edition = models.ForeignKey(QuizEdition, on_delete=models.PROTECT, related_name="attempts")
    citizen = models.ForeignKey("people.Citizen", on_delete=models.PROTECT, related_name="+")
    organisation = models.ForeignKey("people.Organisation", on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="+", help_text=_("交卷时所在单位"))
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    seed = models.BigIntegerField(help_text=_("抽题随机种子"))
    question_ids = models.JSONField()
    local_date = models.DateField()
    started_at = models.DateTimeField()
    deadline = models.DateTimeField()
    submitted_at = models.DateTimeField(null=True, blank=True)
    answers = models.JSONField(null=True, blank=True)
    correct = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        verbose_name = _("答题记录")
        verbose_name_plural = _("答题记录")
        constraints = [models.UniqueConstraint(fields=["citizen"], condition=Q(status="active"),
                                               name="one_active_attempt")]
        indexes = [models.Index(fields=["citizen", "edition", "local_date"], name="attempt_citizen_day")]

    def __str__(self):
        return f"#{self.pk} {self.edition.code} {self.get_status_display()}"


class QuizBest(models.Model):
    """A citizen's best submitted attempt of an edition: more correct answers first, then less time,
    then the earlier submission."""

    edition = models.ForeignKey(QuizEdition, on_delete=models.CASCADE, related_name="best")
    citizen = models.ForeignKey("people.Citizen", on_delete=models.PROTECT, related_name="+", db_index=False)
    organisation = models.ForeignKey("people.Organisation", on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="+")
    attempt = models.ForeignKey(Attempt, on_delete=models.PROTECT, related_name="+")
    correct = models.PositiveSmallIntegerField()
    duration_ms = models.PositiveIntegerField()
    submitted_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["edition", "citizen"], name="quiz_best_per_citizen")]
        indexes = [models.Index(fields=["edition", "-correct", "duration_ms", "submitted_at"], name="quiz_rank")]

    def __str__(self):
        return f"{self.edition_id}:{self.citizen_id} {self.correct}/{self.duration_ms}ms"


# Communities and units --------------------------------------------------------------------------

class Team(models.Model):
    """An organisation whose staff take part (units mobilise staff): staff join with the join code,
    and the headcount is the base of the participation rate."""

    organisation = models.OneToOneField("people.Organisation", on_delete=models.PROTECT, related_name="team",
                                        verbose_name=_("单位"))
    headcount = models.PositiveIntegerField(_("在编人数"), default=0)
    join_code = models.CharField(_("加入码"), max_length=12, unique=True, default=new_join_code)

    class Meta:
        verbose_name = _("单位队伍")
        verbose_name_plural = _("单位队伍")

    def __str__(self):
        return str(self.organisation)


class Membership(models.Model):
    """The community a citizen joined (without one, their residential community counts) and the unit
    they belong to. Totals follow membership from the moment of joining; earlier points stay where
    they were earned."""

    citizen = models.OneToOneField("people.Citizen", on_delete=models.PROTECT, related_name="engagement")
    community = models.ForeignKey("people.Community", on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="+", verbose_name=_("社区"))
    organisation = models.ForeignKey("people.Organisation", on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="+", verbose_name=_("单位"))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("成员关系")
        verbose_name_plural = _("成员关系")

    def __str__(self):
        return f"{self.citizen_id}: {self.community_id}/{self.organisation_id}"


class TeamChallenge(models.Model):
    """A challenge between public institutions: points per head of their staff within the window."""

    name = models.CharField(_("名称"), max_length=200)
    campaign = models.ForeignKey(Campaign, on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="challenges", verbose_name=_("所属活动"))
    starts_on = models.DateField(_("开始日期"))
    ends_on = models.DateField(_("结束日期"))
    teams = models.ManyToManyField(Team, related_name="challenges", verbose_name=_("参赛单位"))

    class Meta:
        verbose_name = _("单位挑战赛")
        verbose_name_plural = _("单位挑战赛")
        constraints = [models.CheckConstraint(condition=Q(ends_on__gte=F("starts_on")), name="challenge_window")]

    def __str__(self):
        return self.name


class Certification(models.Model):
    """An application for the low-carbon community title (低碳社区授牌): submitted with materials by a
    resident, reviewed, and awarded with a numbered PDF certificate."""

    class Level(models.TextChoices):
        LOW_CARBON = "low_carbon", _("低碳社区")
        DEMONSTRATION = "demonstration", _("低碳示范社区")

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("待审核")
        RETURNED = "returned", _("退回补充")
        APPROVED = "approved", _("审核通过")
        REJECTED = "rejected", _("未通过")
        AWARDED = "awarded", _("已授牌")

    OPEN = (Status.SUBMITTED, Status.RETURNED, Status.APPROVED)

    community = models.ForeignKey("people.Community", on_delete=models.PROTECT, related_name="+",
                                  verbose_name=_("社区"))
    level = models.CharField(_("申报类别"), max_length=14, choices=Level.choices, default=Level.LOW_CARBON)
    applicant = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    statement = models.TextField(_("创建情况"))
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.SUBMITTED)
    submitted_at = models.DateTimeField(_("提交时间"))
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+")
    reviewed_at = models.DateTimeField(_("审核时间"), null=True, blank=True)
    review_note = models.CharField(_("审核意见"), max_length=500, blank=True)
    campaign = models.ForeignKey(Campaign, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                                 verbose_name=_("授牌活动"))
    certificate_no = models.CharField(_("证书编号"), max_length=30, unique=True, null=True, blank=True)
    awarded_on = models.DateField(_("授牌日期"), null=True, blank=True)

    class Meta:
        verbose_name = _("低碳社区申报")
        verbose_name_plural = _("低碳社区申报")
        ordering = ["-submitted_at"]
        constraints = [models.UniqueConstraint(fields=["community", "level"],
                                               condition=Q(status__in=["submitted", "returned", "approved"]),
                                               name="one_open_certification")]

    def __str__(self):
        return f"{self.community} {self.get_level_display()}"


def material_path(instance, filename: str) -> str:
    return f"engagement/certifications/{instance.certification_id}/{filename}"


class CertificationMaterial(models.Model):
    certification = models.ForeignKey(Certification, on_delete=models.CASCADE, related_name="materials")
    file = models.FileField(_("文件"), upload_to=material_path)
    original_name = models.CharField(_("文件名"), max_length=200)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("申报材料")
        verbose_name_plural = _("申报材料")

    def __str__(self):
        return self.original_name


# Leaderboard rollups ----------------------------------------------------------------------------

class CitizenScore(models.Model):
    """Points (a point per gram of the period's reductions, plus awards) of one citizen in one period:
    "all", "m2024-05", "w2024-20" (ISO week) or "d2024-05-15". Maintained incrementally by
    `engagement.rollups`; the (period, points DESC) index serves leaderboard pages."""

    period = models.CharField(max_length=11)
    citizen = models.ForeignKey("people.Citizen", on_delete=models.PROTECT, related_name="+", db_index=False,
                                db_constraint=False)
    points = models.BigIntegerField(default=0, help_text=_("reduction_mg // 1000 + award_points"))
    reduction_mg = models.BigIntegerField(default=0)
    award_points = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["period", "citizen"], name="citizen_score_period")]
        indexes = [models.Index(fields=["period", "-points", "citizen"], name="citizen_score_rank")]

    def __str__(self):
        return f"{self.period}:{self.citizen_id} {self.points}"


class ScoreLevel(models.Model):
    """How many citizens have exactly `points` in `period`: a citizen's rank is one plus the citizens
    of the bands above theirs (`ScoreBand`) plus those of the levels above theirs within their band —
    a sum over a few thousand rows at most, however many citizens."""

    period = models.CharField(max_length=11)
    points = models.BigIntegerField()
    citizens = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["period", "points"], name="score_level_period_points")]

    def __str__(self):
        return f"{self.period}:{self.points}×{self.citizens}"


class ScoreBand(models.Model):
    """How many citizens have `band * rollups.BAND` to `(band + 1) * rollups.BAND - 1` points in
    `period`: with the levels inside one's own band, a rank sums at most a few thousand rows."""

    period = models.CharField(max_length=11)
    band = models.BigIntegerField()
    citizens = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["period", "band"], name="score_band_period_band")]

    def __str__(self):
        return f"{self.period}:band {self.band}×{self.citizens}"


class GroupScore(models.Model):
    """Totals of a community, organisation or district in one period; `members` counts the citizens
    who contributed."""

    class Kind(models.TextChoices):
        COMMUNITY = "community", _("社区")
        ORGANISATION = "organisation", _("单位")
        DISTRICT = "district", _("行政区")

    kind = models.CharField(max_length=12, choices=Kind.choices)
    period = models.CharField(max_length=11)
    group_id = models.BigIntegerField()
    points = models.BigIntegerField(default=0)
    reduction_mg = models.BigIntegerField(default=0)
    members = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "period", "group_id"], name="group_score_period")]
        indexes = [models.Index(fields=["kind", "period", "-points"], name="group_score_rank")]

    def __str__(self):
        return f"{self.kind}:{self.period}:{self.group_id} {self.points}"


class RollupState(models.Model):
    """Singleton: every reduction with an id up to `reduction_watermark` is in the rollups."""

    reduction_watermark = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"watermark {self.reduction_watermark}"


class RolledBatch(models.Model):
    """An ingest batch above the watermark whose reductions are already in the rollups."""

    batch_id = models.BigIntegerField(primary_key=True)

    def __str__(self):
        return f"batch {self.batch_id}"
