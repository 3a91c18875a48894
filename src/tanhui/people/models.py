"""Citizens, organisations, staff roles, provider-account bindings and scenario consents.

Phone numbers and names are stored encrypted (`EncryptedTextField`) with an HMAC for look-up;
no plain phone number is ever written to the database.
"""

import secrets

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from tanhui.core.pii import EncryptedTextField, mask_name, mask_phone


class District(models.Model):
    name = models.CharField(_("区"), max_length=50, unique=True)

    class Meta:
        verbose_name = _("行政区")
        verbose_name_plural = _("行政区")
        ordering = ["name"]

    def __str__(self):
        return self.name


class Community(models.Model):
    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="communities",
                                 verbose_name=_("行政区"))
    name = models.CharField(_("社区"), max_length=100)

    class Meta:
        verbose_name = _("社区")
        verbose_name_plural = _("社区")
        constraints = [models.UniqueConstraint(fields=["district", "name"], name="community_per_district")]
        ordering = ["district__name", "name"]

    def __str__(self):
        return f"{self.district.name}·{self.name}"


class Organisation(models.Model):
    class Kind(models.TextChoices):
        MERCHANT = "merchant", _("商家")
        PUBLIC_INSTITUTION = "public_institution", _("公共机构")
        SCHOOL = "school", _("学校")
        ENTERPRISE = "enterprise", _("企业")
        VERIFIER = "verifier", _("核证机构")
        GOVERNMENT = "government", _("政府部门")
        PROVIDER = "provider", _("数据方")

    kind = models.CharField(_("类型"), max_length=30, choices=Kind.choices)
    name = models.CharField(_("名称"), max_length=200)
    licence_no = models.CharField(_("统一社会信用代码"), max_length=18, blank=True)
    district = models.ForeignKey(District, on_delete=models.PROTECT, null=True, blank=True,
                                 verbose_name=_("行政区"))

    class Meta:
        verbose_name = _("组织")
        verbose_name_plural = _("组织")
        constraints = [models.UniqueConstraint(fields=["kind", "name"], name="organisation_kind_name")]

    def __str__(self):
        return self.name


class StaffAwareUserManager(UserManager):
    """`createsuperuser` makes an administrator, not a user with the default citizen role."""

    def create_superuser(self, username, email=None, password=None, **extra_fields):
        extra_fields.setdefault("role", User.Role.ADMIN)
        return super().create_superuser(username, email, password, **extra_fields)


class User(AbstractUser):
    """Every login. Citizens sign in by phone (see `auth.PhoneBackend`); staff by username.

    Name and e-mail fields of AbstractUser stay empty: personal data lives encrypted on Citizen.
    """

    class Role(models.TextChoices):
        CITIZEN = "citizen", _("市民")
        ADMIN = "admin", _("主管部门")
        PROVIDER = "provider", _("数据方")
        MERCHANT = "merchant", _("商家")
        VERIFIER = "verifier", _("核证机构")
        ENTERPRISE = "enterprise", _("企业")
        DEPARTMENT = "department", _("责任部门")

    role = models.CharField(_("角色"), max_length=20, choices=Role.choices, default=Role.CITIZEN)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="staff", verbose_name=_("所属组织"))

    objects = StaffAwareUserManager()
    REQUIRED_FIELDS = []  # no e-mail needed, even for `createsuperuser --noinput`

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")

    def has_role(self, *roles: str) -> bool:
        return self.is_authenticated and self.is_active and (self.role in roles or self.is_superuser)


def new_public_id() -> str:
    return "C" + secrets.token_hex(6).upper()


class Citizen(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("正常")
        CLOSED = "closed", _("已注销")

    user = models.OneToOneField(User, on_delete=models.PROTECT, related_name="citizen",
                                verbose_name=_("登录账号"))
    public_id = models.CharField(_("公开编号"), max_length=13, unique=True, default=new_public_id)
    phone = EncryptedTextField(_("手机号"), null=True, blank=True)
    phone_hash = models.CharField(max_length=64, unique=True, null=True, editable=False)
    name = EncryptedTextField(_("姓名"), null=True, blank=True)
    district = models.ForeignKey(District, on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="citizens", verbose_name=_("行政区"))
    community = models.ForeignKey(Community, on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="citizens", verbose_name=_("社区"))
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(_("注册时间"), auto_now_add=True)
    closed_at = models.DateTimeField(_("注销时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("市民")
        verbose_name_plural = _("市民")

    def __str__(self):
        return f"{self.masked_name} [{self.public_id}]"

    @property
    def masked_name(self) -> str:
        return mask_name(self.name or "")

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone or "")

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE


class Binding(models.Model):
    """A citizen's account at a data provider (metro card, bike-share user, power account)."""

    citizen = models.ForeignKey(Citizen, on_delete=models.PROTECT, related_name="bindings",
                                verbose_name=_("市民"))
    provider = models.ForeignKey("ingest.Provider", on_delete=models.PROTECT, related_name="bindings",
                                 verbose_name=_("数据方"))
    external_user_id = models.CharField(_("数据方用户编号"), max_length=100)
    bound_at = models.DateTimeField(_("绑定时间"), auto_now_add=True)
    unbound_at = models.DateTimeField(_("解绑时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("账户绑定")
        verbose_name_plural = _("账户绑定")
        constraints = [
            models.UniqueConstraint(fields=["provider", "external_user_id"],
                                    condition=Q(unbound_at__isnull=True),
                                    name="one_active_binding_per_provider_account"),
        ]
        indexes = [models.Index(fields=["provider", "external_user_id"])]

    def __str__(self):
        return f"{self.provider.code}:{self.external_user_id}"


class Consent(models.Model):
    """A scenario authorisation (场景授权): effective from a local date until revoked."""

    citizen = models.ForeignKey(Citizen, on_delete=models.PROTECT, related_name="consents",
                                verbose_name=_("市民"))
    scenario = models.ForeignKey("methodology.Scenario", on_delete=models.PROTECT, related_name="consents",
                                 verbose_name=_("场景"))
    effective_from = models.DateField(_("生效日期"), null=True, blank=True, help_text=_("空表示不限"))
    granted_at = models.DateTimeField(_("授权时间"), auto_now_add=True)
    revoked_at = models.DateTimeField(_("撤销时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("场景授权")
        verbose_name_plural = _("场景授权")
        constraints = [
            models.UniqueConstraint(fields=["citizen", "scenario"], condition=Q(revoked_at__isnull=True),
                                    name="one_active_consent_per_scenario"),
        ]

    def __str__(self):
        return f"{self.scenario.code}@{self.effective_from or '*'}"


class LoginCode(models.Model):
    """A one-time SMS login code, stored hashed, valid for a few minutes and a few attempts."""

    phone_hash = models.CharField(max_length=64, db_index=True)
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used = models.BooleanField(default=False)

    def __str__(self):
        return f"login code #{self.pk}"


class LoginLock(models.Model):
    """Failed logins of one account name or phone number, known only by its keyed hash, and the lock
    they led to (`people.guards`). Any name typed counts, registered or not, so a lock never tells
    whether a number belongs to a citizen."""

    class Kind(models.TextChoices):
        PASSWORD = "password", _("密码登录")
        SMS_CODE = "sms_code", _("短信验证码登录")

    kind = models.CharField(_("登录方式"), max_length=10, choices=Kind.choices)
    subject_hash = models.CharField(max_length=64, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, null=True, blank=True, related_name="+",
                             verbose_name=_("账号"), help_text=_("空表示输入的号码或用户名没有对应账号"))
    failures = models.PositiveSmallIntegerField(_("连续失败次数"), default=0)
    first_failure_at = models.DateTimeField(_("首次失败时间"), null=True, blank=True)
    locked_until = models.DateTimeField(_("锁定至"), null=True, blank=True)

    class Meta:
        verbose_name = _("登录锁定")
        verbose_name_plural = _("登录锁定")
        constraints = [models.UniqueConstraint(fields=["kind", "subject_hash"], name="one_login_lock_per_subject")]

    def __str__(self):
        return f"{self.get_kind_display()} #{self.pk}"
