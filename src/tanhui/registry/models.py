"""The registry (减排量登记簿): from accepted reductions to verified, serial-numbered credits.

Points are not credits: nothing here touches the ledger. The registry holds whole tonnes CO2e in
serial-number blocks on its own holding accounts. Rows change only through `registry.services`,
and every change appends an `Event` to one hash chain (`registry.events`), which
`registry.audit.verify` recomputes and replays against the blocks.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

USER = settings.AUTH_USER_MODEL


class MarketConsent(models.Model):
    """A citizen's consent to the use of their reductions for credits sold on the carbon market
    (a consent scope of its own, next to the scenario authorisations of `people`)."""

    citizen = models.ForeignKey("people.Citizen", on_delete=models.PROTECT, related_name="market_consents",
                                verbose_name=_("市民"))
    granted_at = models.DateTimeField(_("同意时间"))
    revoked_at = models.DateTimeField(_("撤回时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("市场化使用同意")
        verbose_name_plural = _("市场化使用同意")
        constraints = [models.UniqueConstraint(fields=["citizen"], condition=Q(revoked_at__isnull=True),
                                               name="registry_one_active_market_consent")]

    def __str__(self):
        return f"{self.citizen_id}@{self.granted_at:%Y-%m-%d}"


class Exclusion(models.Model):
    """A flag that keeps reductions out of every later issuance request: one reduction, a whole
    batch, or everything of one citizen (for example behaviour already covered by an ETS or CCER
    project, or suspected fraud). Lifting it makes them eligible again."""

    class Reason(models.TextChoices):
        ETS_COVERED = "ets_covered", _("已纳入碳市场或 CCER 项目")
        SUSPECTED_FRAUD = "suspected_fraud", _("疑似刷量")
        DATA_ERROR = "data_error", _("数据差错")
        OTHER = "other", _("其他")

    reduction = models.ForeignKey("ingest.Reduction", on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="+", verbose_name=_("减排记录"))
    batch = models.ForeignKey("ingest.Batch", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                              verbose_name=_("批次"))
    citizen = models.ForeignKey("people.Citizen", on_delete=models.PROTECT, null=True, blank=True,
                                related_name="+", verbose_name=_("市民"))
    reason = models.CharField(_("原因"), max_length=20, choices=Reason.choices)
    note = models.CharField(_("说明"), max_length=200, blank=True)
    created_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("标记时间"))
    lifted_at = models.DateTimeField(_("解除时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("排除标记")
        verbose_name_plural = _("排除标记")
        constraints = [models.CheckConstraint(
            condition=Q(reduction__isnull=False, batch__isnull=True, citizen__isnull=True)
            | Q(reduction__isnull=True, batch__isnull=False, citizen__isnull=True)
            | Q(reduction__isnull=True, batch__isnull=True, citizen__isnull=False),
            name="registry_exclusion_one_target")]

    def __str__(self):
        return f"{self.target} {self.reason}"

    @property
    def target(self) -> str:
        if self.reduction_id:
            return f"reduction:{self.reduction_id}"
        return f"batch:{self.batch_id}" if self.batch_id else f"citizen:{self.citizen_id}"


class CalendarDay(models.Model):
    """An exception to the Monday–Friday working week: a public holiday on a weekday, or a
    weekend day worked in exchange (调休上班)."""

    day = models.DateField(_("日期"), unique=True)
    working = models.BooleanField(_("工作日"))
    name = models.CharField(_("名称"), max_length=50, blank=True)

    class Meta:
        verbose_name = _("节假日与调休")
        verbose_name_plural = _("节假日与调休")
        ordering = ["day"]

    def __str__(self):
        return f"{self.day} {'working' if self.working else 'holiday'}"


class Project(models.Model):
    """A carbon-inclusion project (碳普惠项目), e.g. a school's rooftop PV: registered by its owner,
    validated (审定) by a verifier organisation, then credited through issuance requests."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("草稿")
        SUBMITTED = "submitted", _("待审定")
        VALIDATED = "validated", _("已审定")
        REJECTED = "rejected", _("审定未通过")

    code = models.CharField(_("项目编号"), max_length=20, unique=True)
    name = models.CharField(_("项目名称"), max_length=200)
    owner = models.ForeignKey("people.Organisation", on_delete=models.PROTECT, related_name="registry_projects",
                              verbose_name=_("项目业主"))
    methodology = models.CharField(_("方法学"), max_length=200)
    description = models.TextField(_("项目描述"))
    location = models.CharField(_("项目地点"), max_length=200)
    status = models.CharField(_("状态"), max_length=12, choices=Status.choices, default=Status.DRAFT)
    validator = models.ForeignKey("people.Organisation", on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="+", verbose_name=_("审定机构"))
    validation_statement = models.TextField(_("审定意见"), blank=True)
    validated_at = models.DateTimeField(_("审定时间"), null=True, blank=True)
    created_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("登记时间"))

    class Meta:
        verbose_name = _("碳普惠项目")
        verbose_name_plural = _("碳普惠项目")
        ordering = ["-id"]

    def __str__(self):
        return f"{self.code} {self.name}"


def project_upload_to(document, filename: str) -> str:
    return f"registry/projects/{document.project_id}/{filename}"


class ProjectDocument(models.Model):
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="documents")
    title = models.CharField(_("文件名称"), max_length=200)
    file = models.FileField(_("文件"), upload_to=project_upload_to)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField()
    uploaded_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(_("上传时间"))

    class Meta:
        verbose_name = _("项目文件")
        verbose_name_plural = _("项目文件")

    def __str__(self):
        return self.title


class MonitoringEntry(models.Model):
    """Monitoring data of a project for one period: reduction_mg = quantity × factor (g CO2e per
    unit) × 1000, exact decimals rounded half up. It joins at most one issuance request."""

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="monitoring")
    period_start = models.DateField(_("监测期开始"))
    period_end = models.DateField(_("监测期结束"))
    quantity = models.CharField(_("监测量"), max_length=40, help_text=_("十进制数，以文本保存以保持精确"))
    unit = models.CharField(_("单位"), max_length=20)
    factor_g_per_unit = models.CharField(_("减排因子（g CO2e/单位）"), max_length=40)
    reduction_mg = models.BigIntegerField(_("减排量（毫克）"))
    document = models.ForeignKey(ProjectDocument, on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="+", verbose_name=_("证明文件"))
    request = models.ForeignKey("IssuanceRequest", on_delete=models.PROTECT, null=True, blank=True,
                                related_name="monitoring")
    created_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("项目监测数据")
        verbose_name_plural = _("项目监测数据")
        constraints = [
            models.CheckConstraint(condition=Q(reduction_mg__gte=0), name="registry_monitoring_not_negative"),
            models.CheckConstraint(condition=Q(period_end__gte=F("period_start")), name="registry_monitoring_period"),
        ]

    def __str__(self):
        return f"{self.project_id} {self.period_start}–{self.period_end}"


class IssuanceRequest(models.Model):
    """An issuance request and its monitoring report: the reductions gathered (individual) or the
    project's monitoring data, whole tonnes, public notice, verification, issuance."""

    class Kind(models.TextChoices):
        INDIVIDUAL = "individual", _("个人减排量汇总")
        PROJECT = "project", _("碳普惠项目")

    class Status(models.TextChoices):
        PREPARED = "prepared", _("已编制")
        NOTICE = "notice", _("公示中")
        VERIFIED = "verified", _("已核证")
        REJECTED = "rejected", _("核证未通过")
        ISSUED = "issued", _("已签发")

    kind = models.CharField(_("类型"), max_length=12, choices=Kind.choices)
    project = models.ForeignKey(Project, on_delete=models.PROTECT, null=True, blank=True, related_name="requests")
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.PREPARED)
    period_start = models.DateField(_("监测期开始"))
    period_end = models.DateField(_("监测期结束"))
    vintage = models.PositiveSmallIntegerField(_("年份"))
    scenarios = models.ManyToManyField("methodology.Scenario", related_name="+", blank=True, verbose_name=_("场景"))
    methodology_versions = models.ManyToManyField("methodology.MethodologyVersion", related_name="+", blank=True,
                                                  verbose_name=_("方法学版本"))
    prepared_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    prepared_by_org = models.ForeignKey("people.Organisation", on_delete=models.PROTECT, null=True, blank=True,
                                        related_name="+", verbose_name=_("编制单位"))
    created_at = models.DateTimeField(_("编制时间"))
    records = models.PositiveBigIntegerField(_("记录数"), default=0)
    citizens = models.PositiveIntegerField(_("参与人数"), default=0)
    total_mg = models.BigIntegerField(_("纳入减排量（毫克）"), default=0)
    tonnes = models.PositiveBigIntegerField(_("申请量（吨）"), default=0)
    excess_mg = models.BigIntegerField(_("不足一吨的余量（毫克）"), default=0)
    items_digest = models.CharField(max_length=64, blank=True)
    summary = models.JSONField(default=dict)
    evidence_sha256 = models.CharField(max_length=64, blank=True)
    sample_seed = models.CharField(max_length=32)
    notice_days = models.PositiveSmallIntegerField(_("公示工作日"), null=True, blank=True)
    notice_published_at = models.DateTimeField(_("公示开始"), null=True, blank=True)
    notice_ends_on = models.DateField(_("公示截止"), null=True, blank=True)
    verifier = models.ForeignKey("people.Organisation", on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="+", verbose_name=_("核证机构"))
    sample_size = models.PositiveIntegerField(_("抽样数"), null=True, blank=True)
    sample_drawn_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    decided_at = models.DateTimeField(_("核证结论时间"), null=True, blank=True)
    deduction_tonnes = models.PositiveBigIntegerField(_("核减量（吨）"), default=0)
    verified_tonnes = models.PositiveBigIntegerField(_("核证量（吨）"), null=True, blank=True)
    statement = models.TextField(_("核证意见"), blank=True)
    issued_at = models.DateTimeField(_("签发时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("签发申请")
        verbose_name_plural = _("签发申请")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(excess_mg__gte=0), name="registry_request_excess"),
            models.CheckConstraint(condition=Q(period_end__gte=F("period_start")), name="registry_request_period"),
            models.CheckConstraint(condition=Q(kind="project", project__isnull=False)
                                   | Q(kind="individual", project__isnull=True), name="registry_request_kind"),
        ]

    def __str__(self):
        return f"#{self.pk} {self.get_kind_display()} {self.period_start}–{self.period_end}"


class IssuanceItem(models.Model):
    """A reduction gathered into a request. The reduction is the primary key, so the database
    itself refuses to put one reduction into two requests; a rejected request releases its rows."""

    reduction = models.OneToOneField("ingest.Reduction", on_delete=models.PROTECT, primary_key=True,
                                     related_name="issuance_item")
    request = models.ForeignKey(IssuanceRequest, on_delete=models.PROTECT, related_name="items")

    class Meta:
        verbose_name = _("纳入的减排记录")
        verbose_name_plural = _("纳入的减排记录")

    def __str__(self):
        return f"{self.reduction_id}→{self.request_id}"


class SampleRecord(models.Model):
    """One record of the verifier's random sample: `position` is its row (0-based) in the
    evidence extract."""

    request = models.ForeignKey(IssuanceRequest, on_delete=models.PROTECT, related_name="sample")
    position = models.PositiveBigIntegerField()
    reduction = models.ForeignKey("ingest.Reduction", on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="+")
    monitoring = models.ForeignKey(MonitoringEntry, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["request", "position"], name="registry_sample_position")]
        ordering = ["position"]

    def __str__(self):
        return f"{self.request_id}@{self.position}"


class Finding(models.Model):
    class Severity(models.TextChoices):
        OBSERVATION = "observation", _("观察项")
        MINOR = "minor", _("一般不符合")
        MAJOR = "major", _("重大不符合")

    request = models.ForeignKey(IssuanceRequest, on_delete=models.PROTECT, related_name="findings")
    sample = models.ForeignKey(SampleRecord, on_delete=models.PROTECT, null=True, blank=True, related_name="findings",
                               verbose_name=_("样本"))
    severity = models.CharField(_("类别"), max_length=12, choices=Severity.choices)
    text = models.TextField(_("发现"))
    author = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"{self.request_id} {self.severity}"


class NoticeComment(models.Model):
    request = models.ForeignKey(IssuanceRequest, on_delete=models.PROTECT, related_name="comments")
    author = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    body = models.TextField(_("意见"))
    created_at = models.DateTimeField()
    response = models.TextField(_("答复"), blank=True)
    responded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"{self.request_id} comment {self.pk}"


class HoldingAccount(models.Model):
    """Where credits are held: the platform pool (the authority's) or one organisation's account."""

    class Kind(models.TextChoices):
        POOL = "pool", _("平台登记池")
        ORGANISATION = "organisation", _("机构账户")

    kind = models.CharField(_("类型"), max_length=14, choices=Kind.choices)
    organisation = models.OneToOneField("people.Organisation", on_delete=models.PROTECT, null=True, blank=True,
                                        related_name="holding_account")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("持有账户")
        verbose_name_plural = _("持有账户")
        constraints = [
            models.UniqueConstraint(fields=["kind"], condition=Q(kind="pool"), name="registry_one_pool"),
            models.CheckConstraint(condition=Q(kind="pool", organisation__isnull=True)
                                   | Q(kind="organisation", organisation__isnull=False),
                                   name="registry_account_kind"),
        ]

    def __str__(self):
        return str(self.organisation) if self.organisation_id else str(_("平台登记池"))


class Obligation(models.Model):
    """An ETS compliance obligation (tonnes to surrender for a year) that offsets are measured
    against; fixed once a retirement refers to it."""

    organisation = models.ForeignKey("people.Organisation", on_delete=models.PROTECT, related_name="+")
    compliance_year = models.PositiveSmallIntegerField(_("履约年度"))
    tonnes = models.PositiveBigIntegerField(_("履约清缴量（吨）"))
    share_percent = models.PositiveSmallIntegerField(_("抵销比例上限（%）"))
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organisation", "compliance_year"],
                                               name="registry_obligation_per_year")]

    def __str__(self):
        return f"{self.organisation_id}/{self.compliance_year}: {self.tonnes} t"

    @property
    def limit_tonnes(self) -> int:
        return self.tonnes * self.share_percent // 100


class Retirement(models.Model):
    class Purpose(models.TextChoices):
        ETS_OFFSET = "ets_offset", _("碳排放权交易履约抵销")
        EVENT = "event_neutrality", _("大型活动碳中和")
        ORGANISATION = "organisation_neutrality", _("机构碳中和")

    certificate_no = models.CharField(_("证书编号"), max_length=40, unique=True)
    account = models.ForeignKey(HoldingAccount, on_delete=models.PROTECT, related_name="retirements")
    tonnes = models.PositiveBigIntegerField(_("注销量（吨）"))
    purpose = models.CharField(_("用途"), max_length=24, choices=Purpose.choices)
    beneficiary = models.CharField(_("受益方"), max_length=200)
    obligation = models.ForeignKey(Obligation, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="retirements")
    event_name = models.CharField(_("活动名称"), max_length=200, blank=True)
    event_start = models.DateField(_("活动开始"), null=True, blank=True)
    event_end = models.DateField(_("活动结束"), null=True, blank=True)
    neutrality_year = models.PositiveSmallIntegerField(_("碳中和年度"), null=True, blank=True)
    note = models.CharField(_("备注"), max_length=200, blank=True)
    created_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("注销时间"))
    event_hash = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("注销")
        verbose_name_plural = _("注销")
        ordering = ["-id"]
        constraints = [models.CheckConstraint(condition=Q(tonnes__gt=0), name="registry_retirement_positive")]

    def __str__(self):
        return self.certificate_no


class SerialBlock(models.Model):
    """Credits `first`..`last` (inclusive, whole tonnes) of one request, held by `account`; retired
    when `retirement` is set. Serials of a request run 1..its issued tonnes and are split, never
    renumbered, as they move; retired blocks never change again."""

    request = models.ForeignKey(IssuanceRequest, on_delete=models.PROTECT, related_name="blocks")
    first = models.PositiveBigIntegerField()
    last = models.PositiveBigIntegerField()
    account = models.ForeignKey(HoldingAccount, on_delete=models.PROTECT, related_name="blocks")
    retirement = models.ForeignKey(Retirement, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="blocks")

    class Meta:
        verbose_name = _("序号段")
        verbose_name_plural = _("序号段")
        constraints = [
            models.CheckConstraint(condition=Q(first__gte=1) & Q(last__gte=F("first")), name="registry_block_range"),
            models.UniqueConstraint(fields=["request", "first"], name="registry_block_first"),
            models.UniqueConstraint(fields=["request", "last"], name="registry_block_last"),
        ]
        indexes = [models.Index(fields=["account", "retirement"], name="registry_block_holder")]

    def __str__(self):
        return self.serial

    @property
    def tonnes(self) -> int:
        return self.last - self.first + 1

    @property
    def serial(self) -> str:
        return serial_label(self.request_id, self.request.vintage, self.first, self.last)


def serial_label(request_id: int, vintage: int, first: int, last: int) -> str:
    """`CN-<region>-CGSP-<request>-<vintage>-<first>-<last>`."""
    return f"CN-{settings.TANHUI_REGION}-CGSP-{request_id}-{vintage}-{first}-{last}"


class Listing(models.Model):
    """Credits a holder offers at a price; an enterprise buys from it (payment is settled outside
    the platform; the registry records the price)."""

    class Status(models.TextChoices):
        OPEN = "open", _("在售")
        CLOSED = "closed", _("已下架")

    seller = models.ForeignKey(HoldingAccount, on_delete=models.PROTECT, related_name="listings")
    tonnes = models.PositiveBigIntegerField(_("挂牌量（吨）"))
    remaining = models.PositiveBigIntegerField(_("剩余（吨）"))
    price_fen_per_tonne = models.PositiveBigIntegerField(_("单价（分/吨）"))
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    note = models.CharField(_("说明"), max_length=200, blank=True)
    created_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-id"]
        constraints = [models.CheckConstraint(condition=Q(remaining__lte=F("tonnes")),
                                              name="registry_listing_remaining")]

    def __str__(self):
        return f"listing {self.pk}"


class CreditTransfer(models.Model):
    from_account = models.ForeignKey(HoldingAccount, on_delete=models.PROTECT, related_name="+")
    to_account = models.ForeignKey(HoldingAccount, on_delete=models.PROTECT, related_name="+")
    tonnes = models.PositiveBigIntegerField(_("数量（吨）"))
    price_fen_per_tonne = models.PositiveBigIntegerField(_("单价（分/吨）"))
    total_fen = models.PositiveBigIntegerField(_("金额（分）"))
    listing = models.ForeignKey(Listing, on_delete=models.PROTECT, null=True, blank=True, related_name="sales")
    created_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-id"]
        constraints = [models.CheckConstraint(condition=~Q(from_account=F("to_account")),
                                              name="registry_transfer_two_accounts")]

    def __str__(self):
        return f"transfer {self.pk}"


class TransferRange(models.Model):
    transfer = models.ForeignKey(CreditTransfer, on_delete=models.PROTECT, related_name="ranges")
    request = models.ForeignKey(IssuanceRequest, on_delete=models.PROTECT, related_name="+")
    first = models.PositiveBigIntegerField()
    last = models.PositiveBigIntegerField()

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"{self.request_id}:{self.first}-{self.last}"


class Event(models.Model):
    """One registry change. `hash` = SHA-256 over the previous event's hash and this event's
    fields (`registry.events.event_hash`)."""

    seq = models.PositiveBigIntegerField(unique=True)
    at = models.DateTimeField()
    kind = models.CharField(max_length=40)
    actor = models.ForeignKey(USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                              db_constraint=False)
    subject = models.CharField(max_length=60)
    data = models.JSONField()
    hash = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("登记簿事件")
        verbose_name_plural = _("登记簿事件")
        ordering = ["seq"]

    def __str__(self):
        return f"{self.seq} {self.kind} {self.subject}"


class EventChain(models.Model):
    """The head of the event chain (one row). Every registry write locks it first, so registry
    changes are serialised and the chain stays linear."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    length = models.PositiveBigIntegerField(default=0)
    head = models.CharField(max_length=64)

    def __str__(self):
        return f"{self.length}:{self.head}"
