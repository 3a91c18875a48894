"""The question bank in Excel: import adds and updates by 题号 and rejects bad rows with a reason;
export writes the same layout, so a bank survives a round trip."""

from io import BytesIO

import pytest
from openpyxl import Workbook

from tanhui.core.errors import DomainError
from tanhui.engagement import bank
from tanhui.engagement.models import Question

pytestmark = pytest.mark.django_db

ROWS = [
    ["Q1", "单选题", "政策", 1, "全国低碳日是第几天？", "第一天", "第二天", "第三天", "", "", "", "C", "第三天", "是"],
    ["Q2", "多选题", "节能低碳技术", 2, "哪些是可再生能源？", "太阳能", "风能", "煤炭", "", "", "", "A, B", "", ""],
    ["Q3", "判断题", "生活窍门", 1, "待机也耗电。", "", "", "", "", "", "", "对", "", "否"],
    ["Q4", "填空题", "政策", 1, "?", "a", "b", "", "", "", "", "A", "", ""],
    ["Q5", "单选题", "政策", 1, "两个答案？", "a", "b", "", "", "", "", "AB", "", ""],
    ["Q6", "单选题", "政策", 1, "答案超出选项", "a", "b", "", "", "", "", "D", "", ""],
    ["Q7", "单选题", "天文", 1, "类别不对", "a", "b", "", "", "", "", "A", "", ""],
    ["Q8", "单选题", "政策", 9, "难度不对", "a", "b", "", "", "", "", "A", "", ""],
]


def workbook(rows) -> BytesIO:
    book = Workbook()
    book.active.append(bank.HEADER)
    for row in rows:
        book.active.append(row)
    out = BytesIO()
    book.save(out)
    out.seek(0)
    return out


def test_import_adds_good_rows_and_rejects_bad_ones_with_a_reason():
    result = bank.import_questions(workbook(ROWS))
    assert (result.created, result.updated, result.rejected) == (3, 0, 5)
    assert [(e["row"], e["reason"]) for e in result.errors] == [
        (5, "invalid_kind"), (6, "invalid_answer"), (7, "invalid_answer"), (8, "invalid_category"),
        (9, "invalid_difficulty")]
    q1, q2, q3 = Question.objects.order_by("code")
    assert (q1.answer, q1.options, q1.explanation) == ([2], ["第一天", "第二天", "第三天"], "第三天")
    assert (q2.kind, q2.answer, q2.active) == ("multiple", [0, 1], True)
    assert (q3.kind, q3.options, q3.answer, q3.active) == ("true_false", ["正确", "错误"], [0], False)


def test_export_then_import_is_a_round_trip():
    bank.import_questions(workbook(ROWS[:3]))
    before = list(Question.objects.order_by("code").values())
    exported = bank.export_questions()
    Question.objects.update(text="改过", answer=[1])
    result = bank.import_questions(BytesIO(exported))
    assert (result.created, result.updated, result.rejected) == (0, 3, 0)
    assert list(Question.objects.order_by("code").values()) == before


def test_a_file_that_is_not_a_bank_is_refused():
    with pytest.raises(DomainError) as refused:
        bank.import_questions(BytesIO(b"not a workbook"))
    assert refused.value.code == "invalid_workbook"
    book = Workbook()
    book.active.append(["code", "text"])
    out = BytesIO()
    book.save(out)
    out.seek(0)
    with pytest.raises(DomainError) as missing:
        bank.import_questions(out)
    assert missing.value.code == "malformed"


def test_import_and_export_pages(client, staff, db):
    client.force_login(staff("admin"))
    upload = workbook(ROWS[:2])
    upload.name = "bank.xlsx"
    response = client.post("/engagement/manage/quizzes/", {"action": "import", "file": upload}, follow=True)
    assert "新增 2" in response.content.decode()
    exported = client.get("/engagement/manage/quizzes/bank.xlsx")
    assert exported["Content-Type"].startswith("application/vnd.openxmlformats")
    assert bank.import_questions(BytesIO(exported.content)).updated == 2
