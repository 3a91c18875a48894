"""Plan tracking: importing a task division table shaped like seed 002's, indicators, status rules."""

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import Workbook

from tanhui.core.errors import DomainError
from tanhui.people.models import Organisation
from tanhui.supervision import analytics, services
from tanhui.supervision.demo import FIXTURES
from tanhui.supervision.models import Indicator, PlanTask
from tanhui.supervision.plan import Status, indicator_status, infer_due, parse_task_table, task_status
from tanhui.supervision.tables import read_rows

D = Decimal
HEADER = ["重点任务", "", "序号", "具体任务", "责任部门"]
# Rows as the seed's table has them: the area and sub-area only where a merged cell starts; a row
# without a number continues the previous one across a page break (task 15's departments, task
# 49's sub-area).
ROWS = [
    ["(一) 节能降碳增效行动", "1. 深入推进节能精细化管理", "1", "坚决遏制高耗能、高排放、低水平项目盲目发展。",
     "区发改委"],
    ["", "", "2", "严格落实节能审查制度。", "区发改委"],
    ["", "2. 实施重点企业节能降碳攻坚计划", "4", "鼓励重点用能单位开展自身碳排放核算。", "区发改委"],
    ["(二) 建筑提质增效行动", "3. 深挖既有建筑节能潜力", "15", "提升公共建筑能耗监测系统管理功能，",
     "区虹桥办、区建管委、区机"],
    ["", "", "", "到2025年城镇建筑可再生能源替代率达到10%，到2030年进一步提升到15%。", "管局"],
    ["(三) 交通 绿色低碳行动", "1. 推动运输工具装备低碳转型", "25", "到2025年，绿色出行比例达到75%，2035年达到85%。",
     "区建管委"],
    ["（七）绿色低碳影响力提升行动", "2. 构建面向长三角的建筑碳", "49", "支持企业发起建立长三角CN100-建筑碳",
     "区虹桥办"],
    ["", "中和机制", "", "中和倡议机制。", ""],
    ["", "", "36", "推进适宜的新建建筑安装光伏，2022年起新建公共机构屋顶安装光伏的面积比例不低于50%。",
     "区规划资源局、区发改委、区建管委、"],
]


def write_xlsx(path: Path, rows) -> Path:
    book = Workbook()
    sheet = book.active
    sheet.append(["长宁区碳达峰实施方案任务分工表"])
    sheet.append(HEADER)
    for row in rows:
        sheet.append([int(c) if c.isdigit() else (c or None) for c in row])
    sheet.merge_cells("A1:E1")
    sheet.merge_cells("A2:B2")
    sheet.merge_cells("A3:A5")  # the area spans its tasks, as in the Word original
    book.save(path)
    return path


def test_parse_the_seed_shape():
    tasks = {t.number: t for t in parse_task_table([HEADER, *ROWS])}
    assert sorted(tasks) == [1, 2, 4, 15, 25, 36, 49]
    assert (tasks[2].area, tasks[2].sub_area) == ("(一) 节能降碳增效行动", "1. 深入推进节能精细化管理")
    assert tasks[4].sub_area == "2. 实施重点企业节能降碳攻坚计划"
    assert tasks[15].departments == ["区虹桥办", "区建管委", "区机管局"]
    assert tasks[15].text.endswith("进一步提升到15%。")
    assert tasks[25].area == "(三) 交通绿色低碳行动"  # the space a line break left is gone
    assert tasks[49].sub_area == "2. 构建面向长三角的建筑碳中和机制"
    assert tasks[49].text == "支持企业发起建立长三角CN100-建筑碳中和倡议机制。"
    assert tasks[36].departments == ["区规划资源局", "区发改委", "区建管委"]


def test_infer_due():
    assert infer_due("到2025年，绿色出行比例达到75%，2035年达到85%。") == date(2035, 12, 31)
    assert infer_due("“十四五”期间新建公共、专用充电桩1600个") == date(2025, 12, 31)
    assert infer_due("“十五五”期间新建居住建筑执行超低能耗建筑标准的比例达到 50%") == date(2030, 12, 31)
    assert infer_due("2022年起新建公共机构屋顶安装光伏") is None  # a start, not a deadline
    assert infer_due("推进光伏建筑一体化试点。") is None


def test_import_from_excel_and_again_from_csv(tmp_path, reporter):
    path = write_xlsx(tmp_path / "tasks.xlsx", ROWS)
    result = services.import_plan(path, "长宁区碳达峰实施方案", starts_on=date(2022, 12, 5),
                                  default_due=date(2025, 12, 31), district="长宁区")
    assert (result["tasks"], result["created"], result["departments"]) == (7, 7, 5)
    task = PlanTask.objects.get(number=15)
    assert sorted(d.name for d in task.departments.all()) == ["区建管委", "区机管局", "区虹桥办"]
    assert task.due == date(2030, 12, 31)
    assert PlanTask.objects.get(number=36).due == date(2025, 12, 31)  # the default
    assert all(o.kind == Organisation.Kind.GOVERNMENT for o in Organisation.objects.filter(plan_tasks__isnull=False))
    services.report_task(PlanTask.objects.get(number=1), reporter, as_of=date(2024, 1, 1), progress=30,
                         summary="进展")
    csv_path = tmp_path / "tasks.csv"
    changed = [row[:] for row in ROWS]
    changed[0][3] = "坚决遏制“两高一低”项目盲目发展。"
    csv_path.write_text("\n".join(",".join(row) for row in [HEADER, *changed]), encoding="utf-8-sig")
    again = services.import_plan(csv_path, "长宁区碳达峰实施方案", starts_on=date(2022, 12, 5),
                                 default_due=date(2025, 12, 31))
    assert (again["created"], again["updated"]) == (0, 7)
    task = PlanTask.objects.get(number=1)
    assert task.text.startswith("坚决遏制“两高一低”") and task.reports.count() == 1  # reports are kept


def test_gb18030_csv(tmp_path):
    path = tmp_path / "tasks.csv"
    path.write_bytes("\n".join(",".join(r) for r in [HEADER, *ROWS[:2]]).encode("gb18030"))
    assert len(parse_task_table(read_rows(path))) == 2


@pytest.mark.parametrize(("rows", "code"), [
    ([["area", "task", "departments"], ["a", "t", "d"]], "missing_columns"),
    ([HEADER, ["a", "", "1", "任务", ""]], "incomplete_task"),
    ([HEADER, ["a", "", "1", "任务", "区发改委"], ["", "", "1", "任务", "区发改委"]], "duplicate_number"),
])
def test_bad_tables(rows, code):
    with pytest.raises(DomainError) as error:
        parse_task_table(rows)
    assert error.value.code == code


def test_the_shipped_changning_table_and_indicators(db):
    result = services.import_plan(FIXTURES / "changning_tasks.csv", "长宁区碳达峰实施方案",
                                  starts_on=date(2022, 12, 5), default_due=date(2025, 12, 31), district="长宁区")
    assert result["tasks"] == 70
    assert PlanTask.objects.get(number=22).departments.count() == 5  # 区建管委 … 相关街道镇
    assert PlanTask.objects.get(number=61).area == "政策保障和组织实施"
    assert PlanTask.objects.get(number=7).text.count("和智能建造") == 1
    plan = PlanTask.objects.first().plan
    assert services.import_indicators(FIXTURES / "changning_indicators.csv", plan)["indicators"] == 10
    green = Indicator.objects.get(code="green_trip_share")
    assert [(t.year, t.value) for t in green.targets.all()] == [(2025, D(75)), (2035, D(85))]
    assert Indicator.objects.get(code="pv_capacity").task.number == 34


@pytest.mark.parametrize(("progress", "today", "expected"), [
    (100, date(2024, 1, 1), (Status.DONE, 50)),
    (45, date(2024, 1, 1), (Status.ON_TRACK, 50)),      # within 10 points of the straight line
    (39, date(2024, 1, 1), (Status.AT_RISK, 50)),
    (90, date(2026, 1, 1), (Status.OVERDUE, 100)),      # past the due date, not finished
    (0, date(2023, 1, 1), (Status.ON_TRACK, 0)),
])
def test_task_status(progress, today, expected):
    assert task_status(progress, date(2023, 1, 1), date(2024, 12, 31), today) == expected


UP = dict(up=True, baseline=(2020, D(0)), targets=[(2025, D(1600))])


@pytest.mark.parametrize(("kwargs", "values", "today", "expected"), [
    (UP, {}, date(2024, 6, 1), (Status.NO_DATA, None)),
    (UP, {2023: D(1000)}, date(2024, 6, 1), (Status.ON_TRACK, D(960))),        # 3/5 of the way to 1600
    (UP, {2023: D(900)}, date(2024, 6, 1), (Status.AT_RISK, D(960))),
    (UP, {2023: D(1700)}, date(2024, 6, 1), (Status.ACHIEVED, D(1600))),
    (UP, {2025: D(1500)}, date(2026, 3, 1), (Status.OVERDUE, D(1600))),
    (UP, {2024: D(1500)}, date(2026, 3, 1), (Status.OVERDUE, D(1600))),         # target year passed unmet
    (UP, {2023: D(900), 2024: D(1400)}, date(2024, 6, 1), (Status.ON_TRACK, D(1280))),  # latest year counts
    # energy intensity −13.5% by 2025 vs 2020 (index 100 → 86.5): lower is better
    (dict(up=False, baseline=(2020, D(100)), targets=[(2025, D("86.5"))]), {2022: D(95)}, date(2023, 6, 1),
     (Status.AT_RISK, D("94.6"))),
    (dict(up=False, baseline=(2020, D(100)), targets=[(2025, D("86.5"))]), {2022: D(94)}, date(2023, 6, 1),
     (Status.ON_TRACK, D("94.6"))),
    # green trips 75% by 2025 and 85% by 2035: after 2025 the trajectory runs from 75 to 85
    (dict(up=True, baseline=(2020, D(70)), targets=[(2025, D(75)), (2035, D(85))]), {2028: D(77)},
     date(2029, 1, 1), (Status.AT_RISK, D(78))),
])
def test_indicator_status(kwargs, values, today, expected):
    assert indicator_status(kwargs["up"], kwargs["baseline"], kwargs["targets"], values, today) == expected


def test_states_use_the_latest_report(db, tmp_path, reporter):
    path = write_xlsx(tmp_path / "tasks.xlsx", ROWS[:2])
    services.import_plan(path, "方案", starts_on=date(2023, 1, 1), default_due=date(2024, 12, 31))
    task = PlanTask.objects.get(number=1)
    services.report_task(task, reporter, as_of=date(2024, 1, 1), progress=20, summary="早期")
    services.report_task(task, reporter, as_of=date(2024, 3, 1), progress=60, summary="较新")
    states = {s.task.number: s for s in analytics.task_states(task.plan, date(2024, 3, 2))}
    assert (states[1].progress, states[1].status) == (60, Status.ON_TRACK)
    assert (states[2].progress, states[2].status) == (0, Status.AT_RISK)
    earlier = {s.task.number: s for s in analytics.task_states(task.plan, date(2024, 2, 1))}
    assert earlier[1].progress == 20  # as it stood then
