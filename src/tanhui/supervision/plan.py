"""Carbon-peak plan tracking without the database: reading a task division table (任务分工表) and
the status rules for tasks and indicators."""

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db import models
from django.utils.translation import gettext_lazy as _

from tanhui.core.errors import DomainError


class Status(models.TextChoices):
    DONE = "done", _("已完成")
    ACHIEVED = "achieved", _("已达标")
    ON_TRACK = "on_track", _("进展正常")
    AT_RISK = "at_risk", _("存在风险")
    OVERDUE = "overdue", _("已逾期")
    NO_DATA = "no_data", _("暂无数据")


# A task may lag the straight line from the plan's start to its due date by this many points.
TASK_TOLERANCE = 10

NUMBER_HEADERS = {"序号", "number", "no", "no."}
TASK_HEADERS = {"具体任务", "任务", "任务内容", "task"}
DEPARTMENT_HEADERS = {"责任部门", "责任单位", "departments", "department"}
DUE_HEADERS = {"完成时限", "时限", "due"}
_CJK = r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]"
_YEAR = re.compile(r"(?:到|至|于)?(20\d\d)\s*年(?!起|以来)")
_PERIODS = {"十四五": 2025, "十五五": 2030}


@dataclass
class TaskRow:
    number: int
    area: str
    sub_area: str
    text: str
    departments_text: str
    due: date | None = None
    departments: list[str] = field(default_factory=list)


def tidy(text: str) -> str:
    """Collapses whitespace; drops the spaces a PDF line break leaves between Chinese characters."""
    text = re.sub(r"\s+", " ", text).strip()
    return re.sub(rf"(?<={_CJK}) (?={_CJK})", "", text)


def split_departments(text: str) -> list[str]:
    names = [tidy(n) for n in re.split(r"[、，,；;/\n]+", text)]
    return list(dict.fromkeys(n for n in names if n))


def infer_due(text: str) -> date | None:
    """The end of the latest target year a task names ("到2030年", "十四五" = 2025); None if none.
    "2022年起" (from 2022 on) is a start, not a deadline."""
    years = [int(y) for y in _YEAR.findall(text)] + [y for name, y in _PERIODS.items() if name in text]
    return date(max(years), 12, 31) if years else None


def parse_task_table(rows: list[list[str]]) -> list[TaskRow]:
    """Rows shaped like seed 002's table: area and sub-area columns before 序号 (blank where a
    merged cell continues), then the task and the responsible departments. A row without a number
    continues the previous task (a table broken across pages)."""
    header_at = next((i for i, row in enumerate(rows) if any(c.strip().lower() in NUMBER_HEADERS for c in row)), None)
    if header_at is None:
        raise DomainError("missing_columns", "no header row with 序号 (number)")
    header = [c.strip().lower() for c in rows[header_at]]
    number_col = next(i for i, c in enumerate(header) if c in NUMBER_HEADERS)
    task_col = _column(header, TASK_HEADERS, "具体任务 (task)")
    dept_col = _column(header, DEPARTMENT_HEADERS, "责任部门 (departments)")
    due_col = next((i for i, c in enumerate(header) if c in DUE_HEADERS), None)
    area_cols = list(range(number_col))[:2]
    tasks: list[TaskRow] = []
    area = sub_area = ""
    for row in rows[header_at + 1:]:
        cells = row + [""] * (len(header) - len(row))
        if not any(cells):
            continue
        area_cell = cells[area_cols[0]] if area_cols else ""
        sub_cell = cells[area_cols[1]] if len(area_cols) > 1 else ""
        number = _number(cells[number_col])
        if number is None:  # continues the previous row: cells split by a page break
            if tasks:
                previous = tasks[-1]
                previous.area = tidy(previous.area + area_cell)
                previous.sub_area = tidy(previous.sub_area + sub_cell)
                previous.text += cells[task_col]
                previous.departments_text += cells[dept_col]
                area, sub_area = previous.area, previous.sub_area
            continue
        if area_cell and tidy(area_cell) != area:
            area, sub_area = tidy(area_cell), ""
        if sub_cell:
            sub_area = tidy(sub_cell)
        due = _date(cells[due_col]) if due_col is not None and cells[due_col] else None
        tasks.append(TaskRow(number, area, sub_area, cells[task_col], cells[dept_col], due))
    for task in tasks:
        task.text = tidy(task.text)
        task.departments = split_departments(task.departments_text)
        if not task.text or not task.departments:
            raise DomainError("incomplete_task", f"task {task.number}: the task text and departments are required")
    numbers = [t.number for t in tasks]
    if len(set(numbers)) != len(numbers):
        raise DomainError("duplicate_number", "the same 序号 appears twice")
    return tasks


def _column(header: list[str], names: set[str], label: str) -> int:
    found = next((i for i, c in enumerate(header) if c in names), None)
    if found is None:
        raise DomainError("missing_columns", f"no {label} column")
    return found


def _number(cell: str) -> int | None:
    match = re.fullmatch(r"\s*(\d+)\s*[.、]?\s*", cell or "")
    return int(match.group(1)) if match else None


def _date(cell: str) -> date:
    text = cell.strip()[:10]
    try:
        return date(int(text), 12, 31) if re.fullmatch(r"20\d\d", text) else date.fromisoformat(text)
    except ValueError as exc:
        raise DomainError("malformed", f"not a date or year: {cell!r}") from exc


def parse_targets(text: str) -> list[tuple[int, Decimal]]:
    """"2025:75;2035:85" → [(2025, 75), (2035, 85)]"""
    targets = []
    for part in re.split(r"[;；,，]", text):
        if part.strip():
            year, _, value = part.partition(":")
            try:
                targets.append((int(year), Decimal(value.strip())))
            except (ValueError, ArithmeticError) as exc:
                raise DomainError("malformed", f"target {part!r}: use YEAR:VALUE") from exc
    if not targets:
        raise DomainError("malformed", "an indicator needs at least one target")
    return sorted(targets)


def task_status(progress: int, starts_on: date, due: date, today: date) -> tuple[str, int]:
    """(status, expected progress today): done at 100%; overdue after the due date; otherwise on
    track while within TASK_TOLERANCE points of the straight line from start to due date."""
    span = max((due - starts_on).days, 1)
    expected = min(100, max(0, round(100 * (today - starts_on).days / span)))
    if progress >= 100:
        return Status.DONE, expected
    if today > due:
        return Status.OVERDUE, expected
    return (Status.ON_TRACK if progress >= expected - TASK_TOLERANCE else Status.AT_RISK), expected


def indicator_status(up: bool, baseline: tuple[int, Decimal], targets: list[tuple[int, Decimal]],
                     values: dict[int, Decimal], today: date) -> tuple[str, Decimal | None]:
    """(status, the value the trajectory expects for the latest reported year).

    The target in play is the first whose year is not before the latest reported year. Met →
    achieved; its year reached or passed without meeting it → overdue; otherwise on track when the
    value is on the straight line from the previous target (or the baseline) to it, else at risk."""
    if not values:
        return Status.NO_DATA, None
    year = max(values)
    value = values[year]
    index = next((i for i, (y, _v) in enumerate(targets) if y >= year), len(targets) - 1)
    target_year, target = targets[index]

    def meets(actual: Decimal, goal: Decimal) -> bool:
        return actual >= goal if up else actual <= goal

    if meets(value, target):
        return Status.ACHIEVED, target
    if year >= target_year or today.year > target_year:
        return Status.OVERDUE, target
    anchor_year, anchor = targets[index - 1] if index > 0 else baseline
    expected = anchor + (target - anchor) * Decimal(year - anchor_year) / Decimal(target_year - anchor_year)
    return (Status.ON_TRACK if meets(value, expected) else Status.AT_RISK), expected.quantize(Decimal("0.0001"))
