"""Data providers and the batches of behaviour records they send."""

import hashlib
import secrets

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def hash_api_key(key: str) -> str:
    """API keys are 256-bit random, so a plain SHA-256 is enough to store them safely."""
    return hashlib.sha256(key.encode()).hexdigest()


def new_api_key(code: str) -> str:
    return f"th_{code}_{secrets.token_urlsafe(32)}"


class Provider(models.Model):
    """A data provider (metro/bus/bike-share operator, power utility); its API credentials are `ApiKey`s."""

    code = models.SlugField(_("代码"), unique=True)
    name = models.CharField(_("名称"), max_length=200)
    scenarios = models.ManyToManyField("methodology.Scenario", related_name="providers",
                                       verbose_name=_("可报送场景"))
    organisation = models.OneToOneField("people.Organisation", on_delete=models.PROTECT, null=True, blank=True,
                                        related_name="provider")
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("数据方")
        verbose_name_plural = _("数据方")

    def __str__(self):
        return f"{self.name} ({self.code})"


class ApiKey(models.Model):
    """One named API credential of a provider, limited to some of the provider's scenarios (none listed:
    all of them). Only the hash is stored: the plain key is shown once, when issued. A revoked key stays
    as a record of who could send what, when."""

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="api_keys",
                                 verbose_name=_("数据方"))
    name = models.SlugField(_("名称"), max_length=50)
    scenarios = models.ManyToManyField("methodology.Scenario", blank=True, related_name="+",
                                       verbose_name=_("限定场景"), help_text=_("不选则可报送该数据方的全部场景"))
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(_("密钥前缀"), max_length=60, editable=False)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(_("最近使用"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("吊销时间"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("API 密钥")
        verbose_name_plural = _("API 密钥")
        ordering = ["provider", "name", "-created_at"]
        constraints = [models.UniqueConstraint(fields=["provider", "name"], condition=models.Q(revoked_at__isnull=True),
                                               name="one_live_key_per_name")]

    def __str__(self):
        return f"{self.provider.code}/{self.name} ({self.prefix}…)"

    def set_secret(self) -> str:
        """Sets a fresh secret; returns the plain key, which is shown once and never stored."""
        key = new_api_key(self.provider.code)
        self.key_hash = hash_api_key(key)
        self.prefix = key[: len(self.provider.code) + 8]
        return key

    def scenario_codes(self) -> list[str]:
        """The scenarios this key may send; empty when it may send all of the provider's."""
        return sorted(s.code for s in self.scenarios.all())


class Batch(models.Model):
    """One delivery of behaviour records (a file, an upload or a set of API chunks) for one scenario."""

    class Status(models.TextChoices):
        RECEIVING = "receiving", _("接收中")
        QUEUED = "queued", _("排队中")
        PROCESSING = "processing", _("处理中")
        DONE = "done", _("已完成")
        FAILED = "failed", _("失败")

    class Source(models.TextChoices):
        CLI = "cli", _("命令行")
        UPLOAD = "upload", _("文件上传")
        RECORDS = "records", _("接口分块")

    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="batches")
    scenario = models.ForeignKey("methodology.Scenario", on_delete=models.PROTECT, related_name="batches")
    key = models.CharField(_("批次键"), max_length=100, null=True, blank=True,
                           help_text=_("数据方自定的批次键；重复提交同一键是幂等的"))
    source = models.CharField(max_length=10, choices=Source.choices)
    filename = models.CharField(max_length=300, blank=True)
    file_sha256 = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.RECEIVING, db_index=True)
    error = models.TextField(blank=True)
    engine = models.CharField(max_length=20, default="duckdb")
    records = models.PositiveBigIntegerField(default=0)
    accepted = models.PositiveBigIntegerField(default=0)
    duplicates = models.PositiveBigIntegerField(default=0)
    rejected = models.PositiveBigIntegerField(default=0)
    capped = models.PositiveBigIntegerField(default=0)
    vacant = models.PositiveBigIntegerField(default=0)
    rejected_by_reason = models.JSONField(default=dict)
    reduction_mg = models.BigIntegerField(default=0)
    points = models.BigIntegerField(default=0)
    accounts_credited = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("报送批次")
        verbose_name_plural = _("报送批次")
        constraints = [models.UniqueConstraint(fields=["provider", "key"], name="batch_key_per_provider")]
        ordering = ["-id"]

    def __str__(self):
        return f"#{self.pk} {self.provider.code}/{self.scenario.code} {self.get_status_display()}"

    def summary(self) -> dict:
        """The `tanhui ingest --json` contract."""
        return {"batch_id": self.pk, "scenario": self.scenario.code, "records": self.records,
                "accepted": self.accepted, "duplicates": self.duplicates, "rejected": self.rejected,
                "capped": self.capped, "rejected_by_reason": dict(sorted(self.rejected_by_reason.items())),
                "reduction_mg": self.reduction_mg, "points": self.points,
                "accounts_credited": self.accounts_credited}


class Reduction(models.Model):
    """One accepted record and what it earned, with its provenance. `(provider, record_id)` is unique:
    the database itself refuses to credit a record twice, across batches and channels."""

    # Every index costs time on each of the millions of inserts, so there are two: the unique
    # (provider, record_id) and (citizen, local_date), which serves statements, daily caps and the
    # household window. The foreign keys get no index of their own, and no constraint in the
    # database either: checked row by row at commit, the six of them took longer than the inserts.
    # Only the pipeline writes reductions, from the batch and the rows it has just read; the
    # references are checked in bulk by `tanhui ledger verify` (tanhui.ingest.audit).
    batch = models.ForeignKey(Batch, on_delete=models.PROTECT, related_name="reductions", db_index=False,
                              db_constraint=False)
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="+", db_index=False,
                                 db_constraint=False)
    record_id = models.CharField(max_length=100)
    citizen = models.ForeignKey("people.Citizen", on_delete=models.PROTECT, related_name="reductions",
                                db_index=False, db_constraint=False)
    scenario = models.ForeignKey("methodology.Scenario", on_delete=models.PROTECT, related_name="+", db_index=False,
                                 db_constraint=False)
    local_date = models.DateField()
    started_at = models.DateTimeField(null=True)
    quantity = models.CharField(_("里程(km)或用电量(kWh)"), max_length=40,
                                help_text=_("原始十进制数，以文本保存以保持精确"))
    reduction_mg = models.BigIntegerField()
    capped = models.BooleanField(default=False)
    vacant = models.BooleanField(default=False)
    methodology_version = models.ForeignKey("methodology.MethodologyVersion", on_delete=models.PROTECT,
                                            related_name="reductions", db_index=False, db_constraint=False)
    factor_version = models.ForeignKey("methodology.FactorVersion", on_delete=models.PROTECT,
                                       related_name="reductions", db_index=False, db_constraint=False)
    input_hash = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("减排量")
        verbose_name_plural = _("减排量")
        constraints = [
            models.UniqueConstraint(fields=["provider", "record_id"], name="record_credited_once"),
            models.CheckConstraint(condition=models.Q(reduction_mg__gte=0), name="reduction_not_negative"),
        ]
        indexes = [models.Index(fields=["citizen", "local_date"], name="reduction_citizen_day")]

    def __str__(self):
        return f"{self.provider_id}/{self.record_id}: {self.reduction_mg} mg"


class RejectedRecord(models.Model):
    """A record that was not accepted, kept with its reason (and raw content, except for records of
    unknown users, which are not personal data of ours to keep) for the provider to download until
    `purge_after`."""

    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="rejects")
    seq = models.BigIntegerField()
    record_id = models.CharField(max_length=100, blank=True)
    reason = models.CharField(max_length=30)
    raw = models.JSONField(null=True)
    purge_after = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = _("拒收记录")
        verbose_name_plural = _("拒收记录")
        indexes = [models.Index(fields=["batch", "seq"], name="reject_batch_seq")]

    def __str__(self):
        return f"#{self.batch_id} line {self.seq + 1}: {self.reason}"
