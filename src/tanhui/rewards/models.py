"""低碳惠生活: merchants, offers, coupons, campaign funding and charity projects.

Every value these rows stand for lives in the ledger: a coupon holds a reservation (points frozen at
claim, burned at use, released on cancel or expiry), a budget and a charity project each own a
ledger account. The counters kept here (`Offer.taken`, `CharityProject.raised_points`) change in the
same database transaction as the ledger posting they follow, under a row lock, and only in
`rewards.services`.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tanhui.core.pii import EncryptedTextField, mask_phone


class Category(models.TextChoices):
    """The five areas of the Shanghai 低碳惠生活 notice: 衣、食、住、行、用."""

    CLOTHING = "clothing", _("衣")
    FOOD = "food", _("食")
    HOUSING = "housing", _("住")
    TRANSPORT = "transport", _("行")
    GOODS = "goods", _("用")


class Merchant(models.Model):
    """A merchant's application and, once approved, its approval record. The applicant signs in as a
    `User(role=merchant)`; approval creates the `Organisation(kind=merchant)` and makes the applicant
    its first staff member."""

    class Status(models.TextChoices):
        PENDING = "pending", _("待审核")
        APPROVED = "approved", _("已通过")
        REJECTED = "rejected", _("未通过")

    applicant = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                     related_name="merchant_application", verbose_name=_("申请人账号"))
    organisation = models.OneToOneField("people.Organisation", on_delete=models.PROTECT, null=True, blank=True,
                                        related_name="merchant", verbose_name=_("商家组织"))
    name = models.CharField(_("商家名称"), max_length=200)
    licence_no = models.CharField(_("统一社会信用代码"), max_length=18)
    district = models.ForeignKey("people.District", on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("注册所在区"))
    service_districts = models.ManyToManyField("people.District", related_name="+", verbose_name=_("经营区域"))
    address = models.CharField(_("经营地址"), max_length=200)
    contact_name = EncryptedTextField(_("联系人"))
    contact_phone = EncryptedTextField(_("联系电话"))
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.PENDING)
    reason = models.CharField(_("审核意见"), max_length=500, blank=True)
    submitted_at = models.DateTimeField(_("提交时间"), default=timezone.now)
    reviewed_at = models.DateTimeField(_("审核时间"), null=True, blank=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+", verbose_name=_("审核人"))

    class Meta:
        verbose_name = _("商家")
        verbose_name_plural = _("商家")
        ordering = ["-submitted_at"]

    def __str__(self):
        return self.name

    @property
    def masked_contact_phone(self) -> str:
        return mask_phone(self.contact_phone or "")


class FundingBudget(models.Model):
    """A campaign budget that pays part of the points price of the offers linked to it. Its points
    are in a ledger account of kind `campaign`; the engagement app's campaigns can point here."""

    code = models.SlugField(_("代码"), max_length=50, unique=True)
    name = models.CharField(_("名称"), max_length=200)
    account_id = models.BigIntegerField(_("账本账户"), unique=True, editable=False)
    max_points_per_coupon = models.PositiveIntegerField(_("每券最多补贴积分"))
    active = models.BooleanField(_("可用"), default=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("活动预算")
        verbose_name_plural = _("活动预算")
        ordering = ["name"]

    def __str__(self):
        return self.name


class Offer(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("草稿")
        PUBLISHED = "published", _("已上架")
        WITHDRAWN = "withdrawn", _("已下架")

    merchant = models.ForeignKey("people.Organisation", on_delete=models.PROTECT, related_name="offers",
                                 verbose_name=_("商家"))
    title = models.CharField(_("标题"), max_length=100)
    description = models.TextField(_("说明"), max_length=2000)
    image = models.ImageField(_("图片"), upload_to="rewards/offers/", blank=True)
    category = models.CharField(_("类别"), max_length=10, choices=Category.choices)
    points_price = models.PositiveIntegerField(_("所需积分"))
    stock = models.PositiveIntegerField(_("总库存"))
    taken = models.PositiveIntegerField(_("已领取"), default=0, editable=False,
                                        help_text=_("未使用与已使用的券数；取消或过期的券退回库存"))
    per_citizen_limit = models.PositiveSmallIntegerField(_("每人限领"), default=1)
    valid_from = models.DateField(_("开始日期"))
    valid_until = models.DateField(_("结束日期"), help_text=_("含当日；券最迟在当日结束时过期"))
    coupon_days = models.PositiveSmallIntegerField(_("券有效天数"), default=7)
    districts = models.ManyToManyField("people.District", related_name="+", verbose_name=_("可用区域"))
    funding = models.ForeignKey(FundingBudget, on_delete=models.PROTECT, null=True, blank=True,
                                related_name="offers", verbose_name=_("活动补贴"))
    funded_points = models.PositiveIntegerField(_("每券补贴积分"), default=0)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("优惠")
        verbose_name_plural = _("优惠")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(taken__lte=F("stock")), name="rewards_offer_not_oversold",
                                   violation_error_message=_("库存不能少于已领取的券数")),
            models.CheckConstraint(condition=Q(funded_points__lt=F("points_price")),
                                   name="rewards_offer_citizen_pays_something",
                                   violation_error_message=_("补贴须少于所需积分：市民至少支付 1 积分")),
            models.CheckConstraint(condition=Q(funding__isnull=False) | Q(funded_points=0),
                                   name="rewards_offer_funded_by_budget",
                                   violation_error_message=_("未选择活动预算时补贴须为 0")),
        ]
        indexes = [models.Index(fields=["status", "category"])]

    def __str__(self):
        return self.title

    @property
    def remaining(self) -> int:
        return self.stock - self.taken


class Coupon(models.Model):
    """One claimed unit of an offer. `reservation_id` (and `funding_reservation_id` when a budget
    pays part) are the ledger reservations holding its points while it is issued."""

    class Status(models.TextChoices):
        ISSUED = "issued", _("未使用")
        USED = "used", _("已使用")
        CANCELLED = "cancelled", _("已取消")
        EXPIRED = "expired", _("已过期")

    offer = models.ForeignKey(Offer, on_delete=models.PROTECT, related_name="coupons", verbose_name=_("优惠"))
    citizen = models.ForeignKey("people.Citizen", on_delete=models.PROTECT, related_name="coupons",
                                verbose_name=_("市民"))
    code = models.CharField(_("券码"), max_length=16, unique=True)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.ISSUED)
    citizen_points = models.PositiveIntegerField(_("市民积分"))
    funded_points = models.PositiveIntegerField(_("活动补贴积分"), default=0)
    reservation_id = models.BigIntegerField(_("积分冻结"), null=True, editable=False)
    funding_reservation_id = models.BigIntegerField(_("补贴冻结"), null=True, blank=True, editable=False)
    request_key = models.CharField(_("请求键"), max_length=64, null=True, blank=True, editable=False,
                                   help_text=_("同一表单重复提交只领一张"))
    claimed_at = models.DateTimeField(_("领取时间"), default=timezone.now)
    expires_at = models.DateTimeField(_("到期时间"))
    used_at = models.DateTimeField(_("使用时间"), null=True, blank=True)
    used_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                related_name="+", verbose_name=_("核销人"))
    closed_at = models.DateTimeField(_("取消或过期时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("券")
        verbose_name_plural = _("券")
        constraints = [
            models.UniqueConstraint(fields=["citizen", "request_key"], condition=Q(request_key__isnull=False),
                                    name="rewards_coupon_request_once"),
            models.CheckConstraint(condition=~Q(status="used") | Q(used_at__isnull=False, used_by__isnull=False),
                                   name="rewards_coupon_used_by_someone"),
        ]
        indexes = [
            models.Index(fields=["offer", "citizen", "status"]),
            models.Index(fields=["citizen", "claimed_at"]),
            models.Index(fields=["status", "expires_at"]),
            models.Index(fields=["used_at"]),
        ]

    def __str__(self):
        return f"{self.offer} #{self.pk}"

    @property
    def points(self) -> int:
        return self.citizen_points + self.funded_points

    @property
    def masked_code(self) -> str:
        """For lists and settlement reports: enough to find the coupon, not enough to be a code."""
        return "****-****-****-" + self.code[-4:]

    @property
    def display_status(self) -> str:
        """An issued coupon past its time shows as expired before `rewards expire` has run."""
        if self.status == self.Status.ISSUED and self.expires_at <= timezone.now():
            return self.Status.EXPIRED.label
        return self.get_status_display()

    @property
    def usable(self) -> bool:
        return self.status == self.Status.ISSUED and self.expires_at > timezone.now()


class VerificationFailure(models.Model):
    """A wrong or foreign code typed at a merchant's counter; enough of them lock the merchant's
    verification for a while (see `services.verification_locked_until`)."""

    class Reason(models.TextChoices):
        WRONG_CODE = "wrong_code", _("券码错误")
        WRONG_MERCHANT = "wrong_merchant", _("非本店券")

    merchant = models.ForeignKey("people.Organisation", on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("商家"))
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                             verbose_name=_("操作人"))
    reason = models.CharField(_("原因"), max_length=20, choices=Reason.choices)
    at = models.DateTimeField(_("时间"), default=timezone.now)

    class Meta:
        verbose_name = _("核销失败")
        verbose_name_plural = _("核销失败")
        indexes = [models.Index(fields=["merchant", "at"])]

    def __str__(self):
        return f"{self.merchant} {self.reason} {self.at:%Y-%m-%d %H:%M}"


class CharityProject(models.Model):
    """A public-good project (tree planting, a community garden) that citizens donate points to;
    donations go to its ledger account (kind `charity`)."""

    class Status(models.TextChoices):
        OPEN = "open", _("募集中")
        CLOSED = "closed", _("已结束")

    code = models.SlugField(_("代码"), max_length=50, unique=True)
    title = models.CharField(_("名称"), max_length=100)
    organiser = models.CharField(_("发起机构"), max_length=200)
    description = models.TextField(_("介绍"), max_length=4000)
    goal_points = models.PositiveIntegerField(_("目标积分"))
    raised_points = models.PositiveIntegerField(_("已募积分"), default=0, editable=False)
    district = models.ForeignKey("people.District", on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="+", verbose_name=_("所在区"))
    account_id = models.BigIntegerField(_("账本账户"), unique=True, editable=False)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("公益项目")
        verbose_name_plural = _("公益项目")
        ordering = ["-created_at"]
        constraints = [models.CheckConstraint(condition=Q(raised_points__lte=F("goal_points")),
                                              name="rewards_charity_within_goal")]

    def __str__(self):
        return self.title

    @property
    def percent(self) -> int:
        return min(100, self.raised_points * 100 // self.goal_points) if self.goal_points else 0

    @property
    def remaining(self) -> int:
        return self.goal_points - self.raised_points


class Donation(models.Model):
    project = models.ForeignKey(CharityProject, on_delete=models.PROTECT, related_name="donations",
                                verbose_name=_("公益项目"))
    citizen = models.ForeignKey("people.Citizen", on_delete=models.PROTECT, related_name="donations",
                                verbose_name=_("市民"))
    points = models.PositiveIntegerField(_("积分"))
    transfer_id = models.BigIntegerField(_("账本交易"), null=True, editable=False)
    request_key = models.CharField(_("请求键"), max_length=64, null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("捐赠时间"), default=timezone.now)

    class Meta:
        verbose_name = _("捐赠")
        verbose_name_plural = _("捐赠")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["citizen", "request_key"], condition=Q(request_key__isnull=False),
                                    name="rewards_donation_request_once"),
            models.CheckConstraint(condition=Q(points__gt=0), name="rewards_donation_positive"),
        ]

    def __str__(self):
        return f"{self.project} {self.points}"
