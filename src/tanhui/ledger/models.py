"""The carbon ledger: accounts, transfers, partition hash chains, published roots.

Every row of the ledger is a transfer: it debits one account and credits another by the same
points and mg CO2e, so value can only move, never appear or vanish — the schema has no way to store
a one-sided leg. A transaction (one posting, one idempotency key) is one transfer or, rarely, a few
consecutive ones (`part` 0, 1, …) that repeat its kind and references; its links (reverses,
settles, expires_at) are on part 0. Rows are written only by `ledger.services` (bulk SQL); database
triggers (`ledger.schema`) create and move the `Balance` rows and refuse updates and deletes.
"""

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from tanhui.ledger.chain import GENESIS


class RowIdField(models.BigAutoField):
    """A BigAutoField that SQLite stores as a plain INTEGER PRIMARY KEY, without AUTOINCREMENT.

    These ids are always given (transfers: by `ledger.services`, under the write lock; balances: the
    account's id), so AUTOINCREMENT's per-row sqlite_sequence update would only slow bulk posting
    down. PostgreSQL keeps its identity.
    """

    def db_type_suffix(self, connection):
        return None if connection.vendor == "sqlite" else super().db_type_suffix(connection)


class Account(models.Model):
    """Who holds points and mg CO2e (the amounts are on its `Balance`).

    System accounts that most postings touch (issuance, burned, expired, hold) exist in `SHARDS`
    shards with fixed negative ids (see `services.system_account`), so concurrent postings for
    different citizens lock different rows.
    """

    class Kind(models.TextChoices):
        CITIZEN = "citizen", _("市民")
        MERCHANT = "merchant", _("商家")
        CHARITY = "charity", _("公益项目")
        CAMPAIGN = "campaign", _("活动预算")
        ISSUANCE = "issuance", _("发行")
        BURNED = "burned", _("已核销")
        EXPIRED = "expired", _("已过期")
        HOLD = "hold", _("冻结中")
        REGISTRY = "registry", _("登记池")

    kind = models.CharField(_("类型"), max_length=16, choices=Kind.choices)
    citizen = models.OneToOneField("people.Citizen", on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="ledger_account")
    organisation = models.ForeignKey("people.Organisation", on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="ledger_accounts")
    code = models.CharField(_("代码"), max_length=64, blank=True,
                            help_text=_("公益项目、活动或商家账户的代码；系统账户为空"))
    shard = models.PositiveSmallIntegerField(_("分片"), default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("账本账户")
        verbose_name_plural = _("账本账户")
        constraints = [
            models.CheckConstraint(condition=Q(kind="citizen", citizen__isnull=False)
                                   | (~Q(kind="citizen") & Q(citizen__isnull=True)),
                                   name="ledger_account_citizen_kind"),
            models.UniqueConstraint(fields=["kind", "code", "shard"], condition=Q(citizen__isnull=True),
                                    name="ledger_account_named"),
        ]

    def __str__(self):
        return f"{self.kind}:{self.code or self.citizen_id or self.shard} #{self.pk}"


class Balance(models.Model):
    """An account's balance, kept by the database alone: a trigger creates it with the account (id =
    the account's id) and every transfer moves it. Only issuance may go below zero — that is where
    points and reductions are minted. A narrow row of its own, so moving it is cheap."""

    id = RowIdField(primary_key=True)
    points = models.BigIntegerField(_("积分"), default=0)
    mg_co2e = models.BigIntegerField(_("减排量（毫克）"), default=0)
    overdraft = models.BooleanField(_("可透支"), default=False)

    class Meta:
        verbose_name = _("余额")
        verbose_name_plural = _("余额")
        constraints = [
            models.CheckConstraint(condition=Q(overdraft=True) | Q(points__gte=0, mg_co2e__gte=0),
                                   name="ledger_balance_non_negative"),
        ]

    def __str__(self):
        return f"#{self.pk}: {self.points} points, {self.mg_co2e} mg"


class Transfer(models.Model):
    """`debit` gives and `credit` receives `points` and `mg_co2e`: one row of the ledger.

    `hash` = SHA-256 over the hash of the previous transfer of the same partition and every field of
    this one (`ledger.chain.transfer_hash`); within a partition, ids rise along the chain. Links to
    accounts and transfers are checked by the insert trigger and by `ledger verify` instead of
    row-by-row foreign keys (one set-based check per COPY on PostgreSQL). The history indexes
    leave out system accounts (negative ids): those are audited by full scans, never paged through.
    """

    class Kind(models.TextChoices):
        CREDIT = "credit", _("减排积分")
        BONUS = "bonus", _("奖励")
        SPEND = "spend", _("使用")
        DONATE = "donate", _("捐赠")
        TRANSFER = "transfer", _("划转")
        RESERVE = "reserve", _("冻结")
        POST = "post", _("确认扣减")
        VOID = "void", _("解冻")
        EXPIRE = "expire", _("过期")
        REVERSE = "reverse", _("冲正")

    id = RowIdField(primary_key=True)
    idempotency_key = models.CharField(_("幂等键"), max_length=255)
    part = models.PositiveSmallIntegerField(_("序号"), default=0, help_text=_("同一交易的第几笔转移"))
    kind = models.CharField(_("类型"), max_length=16, choices=Kind.choices)
    scenario = models.CharField(_("场景"), max_length=50, null=True, blank=True)
    ref_type = models.CharField(_("来源类型"), max_length=50, null=True, blank=True)
    ref_id = models.CharField(_("来源编号"), max_length=100, null=True, blank=True)
    memo = models.CharField(_("备注"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("记账时间"))
    partition = models.PositiveSmallIntegerField(_("分区"))
    hash = models.CharField(max_length=64)
    debit = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+", db_constraint=False,
                              db_index=False, verbose_name=_("付出账户"))
    credit = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+", db_constraint=False,
                               db_index=False, verbose_name=_("收入账户"))
    points = models.BigIntegerField(_("积分"))
    mg_co2e = models.BigIntegerField(_("减排量（毫克）"))
    reverses = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, db_constraint=False,
                                 db_index=False, related_name="reversals", verbose_name=_("冲正的交易"))
    settles = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, db_constraint=False,
                                db_index=False, related_name="settlements", verbose_name=_("了结的冻结"))
    expires_at = models.DateTimeField(_("冻结到期"), null=True, blank=True)

    class Meta:
        verbose_name = _("转移")
        verbose_name_plural = _("转移")
        constraints = [
            models.UniqueConstraint(fields=["idempotency_key", "part"], name="ledger_idempotency_key_unique"),
            # Partial: the NULLs of ordinary transfers cost no index entries.
            models.UniqueConstraint(fields=["reverses"], condition=Q(reverses__isnull=False),
                                    name="ledger_reverses_id_unique"),
            models.UniqueConstraint(fields=["settles"], condition=Q(settles__isnull=False),
                                    name="ledger_settles_id_unique"),
            models.CheckConstraint(condition=Q(points__gte=0, mg_co2e__gte=0) & (Q(points__gt=0)
                                                                               | Q(mg_co2e__gt=0)),
                                   name="ledger_transfer_positive"),
            models.CheckConstraint(condition=~Q(debit=F("credit")), name="ledger_transfer_two_accounts"),
            models.CheckConstraint(condition=Q(part=0) | Q(reverses__isnull=True, settles__isnull=True,
                                                           expires_at__isnull=True),
                                   name="ledger_links_on_first_part"),
            models.CheckConstraint(condition=Q(expires_at__isnull=True) | Q(kind="reserve"),
                                   name="ledger_only_reservations_expire"),
        ]
        indexes = [
            models.Index(fields=["debit", "id"], condition=Q(debit__gt=0), name="ledger_transfer_debit"),
            models.Index(fields=["credit", "id"], condition=Q(credit__gt=0), name="ledger_transfer_credit"),
            models.Index(fields=["expires_at"], condition=Q(kind="reserve"), name="ledger_reservations"),
        ]

    def __str__(self):
        return f"#{self.pk} {self.kind} {self.idempotency_key}"


class Chain(models.Model):
    """The head of one partition's hash chain: how many transfers it holds and the last hash."""

    partition = models.PositiveSmallIntegerField(primary_key=True)
    length = models.BigIntegerField(default=0)
    head = models.CharField(max_length=64, default=GENESIS)

    class Meta:
        verbose_name = _("哈希链")
        verbose_name_plural = _("哈希链")

    def __str__(self):
        return f"{self.partition}:{self.length}:{self.head}"


class Root(models.Model):
    """A published root: SHA-256 over every chain head at one moment (`ledger.chain.root_hash`).

    Anyone who kept a root can later check that the ledger still reproduces it
    (`tanhui ledger verify --root FILE`): rewriting any earlier transfer changes the hash at that
    chain position.
    """

    created_at = models.DateTimeField(_("生成时间"))
    day = models.DateField(_("日期"))
    root = models.CharField(_("根哈希"), max_length=64)
    heads = models.JSONField(_("链头"), help_text=_("[[分区, 长度, 哈希], …]"))
    transfers = models.BigIntegerField(_("转移数"))

    class Meta:
        verbose_name = _("账本根")
        verbose_name_plural = _("账本根")

    def __str__(self):
        return f"{self.day} {self.root}"
