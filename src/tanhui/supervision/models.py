"""Building energy and carbon monitoring, and carbon-peak plan tracking.

Monitoring: buildings → meters → readings (the raw 15-minute, hourly or daily values) → hourly and
daily rollups. Energy is stored as integer thousandths of the meter's unit (Wh for kWh, litres
for m³, MJ for GJ); emissions as integer grams CO2e per meter and local day, each with the
emission factor version it was computed with.

Readings and hourly rollups carry their time as Unix seconds (`ts`, `hour`): an exact instant,
compact and fast for tables of tens of millions of rows; they become aware datetimes at the edges
(`Reading.at`). Days are Asia/Shanghai dates.

Plan tracking: a plan (e.g. 长宁区碳达峰实施方案) → tasks from its division table, each with
responsible departments (government organisations) → progress reports with evidence; indicators
with baseline, targets and reported values.
"""

from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from tanhui.core.timeutil import SHANGHAI


class BuildingType(models.TextChoices):
    OFFICE = "office", _("办公")
    COMMERCIAL = "commercial", _("商场")
    HOTEL = "hotel", _("宾馆饭店")
    HOSPITAL = "hospital", _("医疗卫生")
    SCHOOL = "school", _("学校")
    RESIDENTIAL = "residential", _("居住")
    PUBLIC_INSTITUTION = "public_institution", _("公共机构")


class GridRegion(models.TextChoices):
    NORTH = "north", _("华北")
    NORTHEAST = "northeast", _("东北")
    EAST = "east", _("华东")
    CENTRAL = "central", _("华中")
    NORTHWEST = "northwest", _("西北")
    SOUTH = "south", _("南方")
    SOUTHWEST = "southwest", _("西南")


class EnergyKind(models.TextChoices):
    ELECTRICITY = "electricity", _("电")
    GAS = "gas", _("天然气")
    HEAT = "heat", _("热力")
    WATER = "water", _("水")


UNITS = {EnergyKind.ELECTRICITY: "kWh", EnergyKind.GAS: "m³", EnergyKind.HEAT: "GJ", EnergyKind.WATER: "m³"}

# Site energy per unit: kWh equivalent (calorific value) and kg of standard coal (kgce).
# Electricity 3.6 MJ/kWh, 0.1229 kgce/kWh (GB/T 2589, 当量值); natural gas 38.931 MJ/m³,
# 1.3300 kgce/m³ (GB/T 2589, the same calorific value as the emission factor below); heat
# 1 GJ = 277.78 kWh, 34.12 kgce/GJ (GB/T 2589). Water is metered but is not energy.
KWH_PER_UNIT = {EnergyKind.ELECTRICITY: Decimal("1"), EnergyKind.GAS: Decimal("10.814"),
                EnergyKind.HEAT: Decimal("277.78"), EnergyKind.WATER: Decimal("0")}
KGCE_PER_UNIT = {EnergyKind.ELECTRICITY: Decimal("0.1229"), EnergyKind.GAS: Decimal("1.3300"),
                 EnergyKind.HEAT: Decimal("34.12"), EnergyKind.WATER: Decimal("0")}


class Building(models.Model):
    code = models.SlugField(_("编号"), max_length=50, unique=True)
    name = models.CharField(_("名称"), max_length=200)
    type = models.CharField(_("建筑类型"), max_length=20, choices=BuildingType.choices)
    floor_area_m2 = models.PositiveIntegerField(_("建筑面积（m²）"))
    district = models.ForeignKey("people.District", on_delete=models.PROTECT, related_name="buildings",
                                 verbose_name=_("行政区"))
    owner = models.ForeignKey("people.Organisation", on_delete=models.PROTECT, related_name="buildings",
                              verbose_name=_("业主单位"))
    key_energy_user = models.BooleanField(_("重点用能单位"), default=False)
    grid_region = models.CharField(_("电网区域"), max_length=12, choices=GridRegion.choices,
                                   default=GridRegion.EAST)
    address = models.CharField(_("地址"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("建筑")
        verbose_name_plural = _("建筑")
        ordering = ["code"]

    def __str__(self):
        return f"{self.name} ({self.code})"


class Meter(models.Model):
    class Mode(models.TextChoices):
        CUMULATIVE = "cumulative", _("累计读数")
        DELTA = "delta", _("区间用量")

    class Interval(models.IntegerChoices):
        QUARTER_HOUR = 900, _("15 分钟")
        HOUR = 3600, _("1 小时")
        DAY = 86400, _("1 天")

    building = models.ForeignKey(Building, on_delete=models.PROTECT, related_name="meters", verbose_name=_("建筑"))
    code = models.SlugField(_("表号"), max_length=64, unique=True)
    name = models.CharField(_("名称"), max_length=200, blank=True)
    kind = models.CharField(_("能源种类"), max_length=12, choices=EnergyKind.choices)
    mode = models.CharField(_("读数方式"), max_length=10, choices=Mode.choices, default=Mode.CUMULATIVE)
    interval_s = models.PositiveIntegerField(_("采集间隔"), choices=Interval.choices, default=Interval.QUARTER_HOUR)
    parent = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="sub_meters",
                               verbose_name=_("上级总表"), help_text=_("分项计量表；建筑总量只计总表"))
    active = models.BooleanField(_("在用"), default=True)
    # Where the readings stand: the latest accepted reading (Unix seconds) and, for a cumulative
    # meter, its register value; the next reading's consumption is counted from here.
    last_ts = models.BigIntegerField(null=True, blank=True, editable=False)
    last_register_milli = models.BigIntegerField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("计量表")
        verbose_name_plural = _("计量表")
        ordering = ["code"]

    def __str__(self):
        return self.code

    @property
    def unit(self) -> str:
        return UNITS[self.kind]

    @property
    def last_reading_at(self) -> datetime | None:
        return None if self.last_ts is None else datetime.fromtimestamp(self.last_ts, SHANGHAI)


class ReadingBatch(models.Model):
    """One delivery of readings (a file, an upload or an API call), judged in one transaction."""

    class Source(models.TextChoices):
        FILE = "file", _("命令行文件")
        UPLOAD = "upload", _("页面上传")
        API = "api", _("接口")
        DEMO = "demo", _("演示数据")

    class Status(models.TextChoices):
        PROCESSING = "processing", _("处理中")
        DONE = "done", _("已完成")
        FAILED = "failed", _("失败")

    source = models.CharField(_("来源"), max_length=10, choices=Source.choices)
    filename = models.CharField(_("文件名"), max_length=300, blank=True)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="+", verbose_name=_("提交人"))
    status = models.CharField(_("状态"), max_length=12, choices=Status.choices, default=Status.PROCESSING)
    error = models.TextField(blank=True)
    readings = models.PositiveBigIntegerField(_("读数"), default=0)
    accepted = models.PositiveBigIntegerField(_("接收"), default=0)
    rejected = models.PositiveBigIntegerField(_("拒收"), default=0)
    rejected_by_reason = models.JSONField(default=dict)
    resets = models.PositiveIntegerField(_("表码归零"), default=0)
    gaps = models.PositiveIntegerField(_("数据缺口"), default=0)
    missing_intervals = models.PositiveBigIntegerField(_("缺失时段数"), default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("读数批次")
        verbose_name_plural = _("读数批次")
        ordering = ["-id"]

    def __str__(self):
        return f"#{self.pk} {self.filename or self.get_source_display()}"

    def summary(self) -> dict:
        return {"batch_id": self.pk, "readings": self.readings, "accepted": self.accepted,
                "rejected": self.rejected, "rejected_by_reason": self.rejected_by_reason,
                "resets": self.resets, "gaps": self.gaps, "missing_intervals": self.missing_intervals}


class Reading(models.Model):
    """One meter reading: `value_milli` is the consumption in the interval ending at `ts`, in
    thousandths of the meter's unit. For a cumulative meter `register_milli` is the register as
    sent; its first reading only sets the starting point and has no value."""

    pk = models.CompositePrimaryKey("meter", "ts")
    meter = models.ForeignKey(Meter, on_delete=models.PROTECT, related_name="+", db_constraint=False,
                              db_index=False)
    ts = models.BigIntegerField()
    value_milli = models.BigIntegerField(null=True)
    register_milli = models.BigIntegerField(null=True)
    batch = models.ForeignKey(ReadingBatch, on_delete=models.PROTECT, related_name="+", db_constraint=False,
                              db_index=False)

    def __str__(self):
        return f"{self.meter_id}@{self.ts}"

    @property
    def at(self) -> datetime:
        return datetime.fromtimestamp(self.ts, SHANGHAI)


class HourlyUsage(models.Model):
    """Consumption per meter and hour (`hour` = Unix seconds of the hour's start); meters read at
    15-minute or hourly intervals only."""

    pk = models.CompositePrimaryKey("meter", "hour")
    meter = models.ForeignKey(Meter, on_delete=models.PROTECT, related_name="+", db_constraint=False,
                              db_index=False)
    hour = models.BigIntegerField()
    value_milli = models.BigIntegerField()
    readings = models.PositiveIntegerField()

    def __str__(self):
        return f"{self.meter_id}@{self.hour}"


class DailyUsage(models.Model):
    """Consumption and emissions per meter and Asia/Shanghai day."""

    pk = models.CompositePrimaryKey("meter", "day")
    meter = models.ForeignKey(Meter, on_delete=models.PROTECT, related_name="+", db_constraint=False,
                              db_index=False)
    day = models.DateField()
    value_milli = models.BigIntegerField()
    readings = models.PositiveIntegerField()
    emission_g = models.BigIntegerField(db_default=0)
    factor = models.ForeignKey("supervision.EnergyFactor", on_delete=models.PROTECT, null=True, related_name="+",
                               db_constraint=False, db_index=False)

    class Meta:
        indexes = [models.Index(fields=["day"], name="dailyusage_day")]

    def __str__(self):
        return f"{self.meter_id}@{self.day}"


class ReadingIssue(models.Model):
    """A reading kept aside (rejected, with its reason) or accepted with a flag (a register reset,
    or the first reading after a gap)."""

    class Reason(models.TextChoices):
        MALFORMED = "malformed", _("格式错误")
        UNKNOWN_METER = "unknown_meter", _("未知计量表")
        MISALIGNED = "misaligned", _("时间未对齐采集间隔")
        FUTURE = "future_timestamp", _("时间晚于当前")
        DUPLICATE = "duplicate", _("重复读数")
        OUT_OF_ORDER = "out_of_order", _("累计读数早于已收读数")
        NEGATIVE = "negative_delta", _("用量为负")
        RESET = "register_reset", _("表码归零（已处理）")
        GAP = "gap", _("数据缺口（不插补）")

    FLAGS = (Reason.RESET, Reason.GAP)

    batch = models.ForeignKey(ReadingBatch, on_delete=models.CASCADE, related_name="issues")
    meter = models.ForeignKey(Meter, on_delete=models.CASCADE, null=True, related_name="issues")
    seq = models.BigIntegerField(_("行号"))
    meter_code = models.CharField(max_length=200, blank=True)
    ts = models.BigIntegerField(null=True, help_text=_("读数时间（Unix 秒），无法解析时为空"))
    ts_text = models.CharField(max_length=100, blank=True)
    value_text = models.CharField(max_length=100, blank=True)
    reason = models.CharField(_("原因"), max_length=20, choices=Reason.choices)
    rejected = models.BooleanField(_("拒收"))
    detail = models.CharField(_("说明"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("读数问题")
        verbose_name_plural = _("读数问题")
        ordering = ["batch", "seq"]
        indexes = [models.Index(fields=["meter", "reason", "ts"], name="readingissue_meter_reason")]

    def __str__(self):
        return f"{self.reason}: {self.meter_code} {self.ts_text}"


class EnergyFactor(models.Model):
    """An emission factor version, effective from a date until the next version for the same
    energy kind and region. `region` blank = national, used where no regional factor applies."""

    kind = models.CharField(_("能源种类"), max_length=12, choices=EnergyKind.choices)
    region = models.CharField(_("电网区域"), max_length=12, choices=GridRegion.choices, blank=True)
    valid_from = models.DateField(_("生效日期"))
    mg_per_unit = models.BigIntegerField(_("因子（mgCO2e/单位）"),
                                         help_text=_("例如 0.5306 kgCO2/kWh 记为 530600"))
    source = models.TextField(_("来源"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("能源排放因子")
        verbose_name_plural = _("能源排放因子")
        constraints = [models.UniqueConstraint(fields=["kind", "region", "valid_from"], name="gridfactor_version")]
        ordering = ["kind", "region", "valid_from"]

    def __str__(self):
        region = self.region or "national"
        return f"{self.get_kind_display()} {region} {self.valid_from}: {self.kg_per_unit} kg/{UNITS[self.kind]}"

    @property
    def kg_per_unit(self) -> Decimal:
        return Decimal(self.mg_per_unit) / 1_000_000


class EnergyCap(models.Model):
    """能耗双控: a key energy user's annual energy cap, in kg of standard coal."""

    building = models.ForeignKey(Building, on_delete=models.PROTECT, related_name="caps", verbose_name=_("建筑"))
    year = models.PositiveSmallIntegerField(_("年度"))
    cap_kgce = models.BigIntegerField(_("年度能耗限额（kgce）"))
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                               related_name="+")
    set_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("能耗限额")
        verbose_name_plural = _("能耗限额")
        constraints = [models.UniqueConstraint(fields=["building", "year"], name="energycap_per_year")]

    def __str__(self):
        return f"{self.building_id} {self.year}: {self.cap_kgce} kgce"


class Alert(models.Model):
    class Kind(models.TextChoices):
        NIGHT_BASELOAD = "night_baseload", _("夜间基础负荷偏高")
        WEEKEND_BASELOAD = "weekend_baseload", _("周末负荷偏高")
        JUMP = "jump", _("用量突增")
        SILENT = "silent", _("计量表失联")
        CAP_80 = "cap_80", _("能耗达限额 80%")
        CAP_100 = "cap_100", _("能耗超限额")

    class Status(models.TextChoices):
        OPEN = "open", _("待处理")
        ACKNOWLEDGED = "acknowledged", _("已确认")
        RESOLVED = "resolved", _("已恢复")

    key = models.CharField(max_length=120, unique=True, help_text=_("同一事项只报警一次"))
    kind = models.CharField(_("类型"), max_length=20, choices=Kind.choices)
    building = models.ForeignKey(Building, on_delete=models.CASCADE, related_name="alerts", verbose_name=_("建筑"))
    meter = models.ForeignKey(Meter, on_delete=models.CASCADE, null=True, blank=True, related_name="alerts",
                              verbose_name=_("计量表"))
    day = models.DateField(_("日期"))
    message = models.CharField(_("说明"), max_length=300)
    detail = models.JSONField(default=dict)
    status = models.CharField(_("状态"), max_length=12, choices=Status.choices, default=Status.OPEN)
    raised_at = models.DateTimeField(auto_now_add=True)
    handled_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")
    handled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("告警")
        verbose_name_plural = _("告警")
        ordering = ["-day", "-id"]
        indexes = [models.Index(fields=["status", "kind"], name="alert_status_kind")]

    def __str__(self):
        return f"{self.get_kind_display()} {self.day}"


# ---- plan tracking -------------------------------------------------------------------------------

class Plan(models.Model):
    name = models.CharField(_("名称"), max_length=200, unique=True)
    district = models.ForeignKey("people.District", on_delete=models.PROTECT, null=True, blank=True,
                                 verbose_name=_("行政区"))
    starts_on = models.DateField(_("实施起始日"), help_text=_("任务进度按起始日到完成时限线性计算应达进度"))
    default_due = models.DateField(_("默认完成时限"))

    class Meta:
        verbose_name = _("实施方案")
        verbose_name_plural = _("实施方案")

    def __str__(self):
        return self.name


class PlanTask(models.Model):
    """A row of the task division table (任务分工表)."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="tasks")
    number = models.PositiveIntegerField(_("序号"))
    area = models.CharField(_("重点任务"), max_length=200)
    sub_area = models.CharField(_("分项"), max_length=200, blank=True)
    text = models.TextField(_("具体任务"))
    departments = models.ManyToManyField("people.Organisation", related_name="plan_tasks",
                                         verbose_name=_("责任部门"))
    due = models.DateField(_("完成时限"))

    class Meta:
        verbose_name = _("方案任务")
        verbose_name_plural = _("方案任务")
        ordering = ["plan", "number"]
        constraints = [models.UniqueConstraint(fields=["plan", "number"], name="plantask_number")]

    def __str__(self):
        return f"{self.number}. {self.text[:30]}"


class TaskReport(models.Model):
    """A department's progress report on a task; the latest one counts, earlier ones are history."""

    task = models.ForeignKey(PlanTask, on_delete=models.CASCADE, related_name="reports")
    department = models.ForeignKey("people.Organisation", on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("报送部门"))
    reported_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    as_of = models.DateField(_("截至日期"))
    progress = models.PositiveSmallIntegerField(_("完成进度（%）"))
    summary = models.TextField(_("进展情况"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("任务进展")
        verbose_name_plural = _("任务进展")
        ordering = ["-as_of", "-id"]
        constraints = [models.CheckConstraint(condition=Q(progress__lte=100), name="taskreport_progress_pct")]

    def __str__(self):
        return f"{self.task_id} {self.as_of}: {self.progress}%"


class Indicator(models.Model):
    class Direction(models.TextChoices):
        UP = "up", _("不低于目标")
        DOWN = "down", _("不高于目标")

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="indicators")
    code = models.SlugField(_("代码"), max_length=50)
    name = models.CharField(_("名称"), max_length=200)
    unit = models.CharField(_("单位"), max_length=30)
    direction = models.CharField(_("方向"), max_length=4, choices=Direction.choices)
    baseline_year = models.PositiveSmallIntegerField(_("基准年"))
    baseline_value = models.DecimalField(_("基准值"), max_digits=16, decimal_places=4)
    departments = models.ManyToManyField("people.Organisation", related_name="plan_indicators",
                                         verbose_name=_("报送部门"))
    task = models.ForeignKey(PlanTask, on_delete=models.SET_NULL, null=True, blank=True, related_name="indicators",
                             verbose_name=_("对应任务"))

    class Meta:
        verbose_name = _("目标指标")
        verbose_name_plural = _("目标指标")
        ordering = ["plan", "id"]
        constraints = [models.UniqueConstraint(fields=["plan", "code"], name="indicator_code")]

    def __str__(self):
        return self.name


class IndicatorTarget(models.Model):
    indicator = models.ForeignKey(Indicator, on_delete=models.CASCADE, related_name="targets")
    year = models.PositiveSmallIntegerField(_("目标年"))
    value = models.DecimalField(_("目标值"), max_digits=16, decimal_places=4)

    class Meta:
        ordering = ["year"]
        constraints = [models.UniqueConstraint(fields=["indicator", "year"], name="indicatortarget_year")]

    def __str__(self):
        return f"{self.year}: {self.value}"


class IndicatorValue(models.Model):
    """A reported value for a year; a later report for the same year supersedes the earlier one."""

    indicator = models.ForeignKey(Indicator, on_delete=models.CASCADE, related_name="values")
    year = models.PositiveSmallIntegerField(_("年度"))
    value = models.DecimalField(_("数值"), max_digits=16, decimal_places=4)
    department = models.ForeignKey("people.Organisation", on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("报送部门"))
    reported_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    note = models.TextField(_("说明"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-year", "-id"]

    def __str__(self):
        return f"{self.year}: {self.value}"


class Evidence(models.Model):
    """A file supporting a task report or an indicator value."""

    task_report = models.ForeignKey(TaskReport, on_delete=models.CASCADE, null=True, related_name="evidence")
    indicator_value = models.ForeignKey(IndicatorValue, on_delete=models.CASCADE, null=True, related_name="evidence")
    file = models.FileField(upload_to="supervision/evidence/%Y/%m/")
    name = models.CharField(_("文件名"), max_length=255)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)

    class Meta:
        constraints = [models.CheckConstraint(
            condition=Q(task_report__isnull=False, indicator_value__isnull=True)
            | Q(task_report__isnull=True, indicator_value__isnull=False), name="evidence_has_one_owner")]

    def __str__(self):
        return self.name
