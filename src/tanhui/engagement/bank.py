"""The question bank as an Excel workbook (openpyxl): one row per question, options in columns
选项A–选项F, the answer as letters ("B", "ACD"). Import adds or updates questions by 题号 and rejects
bad rows with a reason, keeping the good ones; export writes the same layout, so a bank can be
edited in Excel and imported again."""

from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path

from django.db import transaction
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font

from tanhui.core.errors import DomainError, RowRejected
from tanhui.engagement.models import Question

LETTERS = "ABCDEF"
HEADER = ["题号", "题型", "类别", "难度", "题目", *[f"选项{x}" for x in LETTERS], "答案", "解析", "启用"]
TRUE_FALSE_OPTIONS = ["正确", "错误"]
# The workbook is always in Chinese, whatever the page language: labels are the untranslated names.
KIND_LABELS = {"single": "单选题", "multiple": "多选题", "true_false": "判断题"}
CATEGORY_LABELS = {"policy": "政策", "technology": "节能低碳技术", "tips": "生活窍门"}
KINDS = {label: value for value, label in KIND_LABELS.items()} | {v: v for v in Question.Kind.values}
CATEGORIES = {label: value for value, label in CATEGORY_LABELS.items()} | {v: v for v in Question.Category.values}
TRUE_FALSE_ANSWERS = {"正确": "A", "对": "A", "√": "A", "错误": "B", "错": "B", "×": "B"}
YES = {"", "是", "y", "yes", "1", "true"}


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    rejected: int = 0
    errors: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"created": self.created, "updated": self.updated, "rejected": self.rejected, "errors": self.errors}


def _text(value) -> str:
    return "" if value is None else str(value).strip()


def parse_row(cells: dict) -> dict:
    """A row ({header: value}) as Question fields; raises RowRejected."""
    code = _text(cells.get("题号"))
    if not code or len(code) > 30:
        raise RowRejected("malformed", "题号不能为空且不超过 30 个字符")
    kind = KINDS.get(_text(cells.get("题型")))
    if kind is None:
        raise RowRejected("invalid_kind", "题型须为单选题、多选题或判断题")
    category = CATEGORIES.get(_text(cells.get("类别")))
    if category is None:
        raise RowRejected("invalid_category", "类别须为政策、节能低碳技术或生活窍门")
    try:
        difficulty = int(_text(cells.get("难度")) or 1)
    except ValueError:
        difficulty = 0
    if not 1 <= difficulty <= 3:
        raise RowRejected("invalid_difficulty", "难度须为 1、2 或 3")
    text = _text(cells.get("题目"))
    if not text:
        raise RowRejected("malformed", "题目不能为空")
    options = [_text(cells.get(f"选项{x}")) for x in LETTERS]
    while options and not options[-1]:
        options.pop()
    if kind == Question.Kind.TRUE_FALSE and not options:
        options = list(TRUE_FALSE_OPTIONS)
    if len(options) < 2 or not all(options) or (kind == Question.Kind.TRUE_FALSE and len(options) != 2):
        raise RowRejected("invalid_options", "选项须连续填写，至少两项；判断题恰好两项")
    raw = _text(cells.get("答案")).upper().replace(",", "").replace("，", "").replace(" ", "")
    raw = TRUE_FALSE_ANSWERS.get(raw, raw)
    answer = sorted({LETTERS.index(x) for x in raw if x in LETTERS})
    if not raw or len(answer) != len(raw) or any(i >= len(options) for i in answer):
        raise RowRejected("invalid_answer", "答案须为选项字母，如 B 或 ACD")
    if kind != Question.Kind.MULTIPLE and len(answer) != 1:
        raise RowRejected("invalid_answer", "单选题和判断题只有一个正确答案")
    return {"code": code, "kind": kind, "category": category, "difficulty": difficulty, "text": text,
            "options": options, "answer": answer, "explanation": _text(cells.get("解析")),
            "active": _text(cells.get("启用")).lower() in YES}


def import_questions(source: Path | BytesIO) -> ImportResult:
    try:
        workbook = load_workbook(source, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
        raise DomainError("invalid_workbook", f"无法读取 Excel 文件：{exc}") from exc
    rows = workbook.active.iter_rows(values_only=True)
    header = [_text(h) for h in next(rows, ())]
    missing = [h for h in ("题号", "题型", "类别", "题目", "答案") if h not in header]
    if missing:
        raise DomainError("malformed", f"缺少列：{'、'.join(missing)}")
    result = ImportResult()
    with transaction.atomic():
        for number, values in enumerate(rows, start=2):
            if not any(v not in (None, "") for v in values):
                continue
            try:
                fields = parse_row(dict(zip(header, values, strict=False)))
            except RowRejected as exc:
                result.rejected += 1
                result.errors.append({"row": number, "reason": exc.reason, "message": str(exc)})
                continue
            _, created = Question.objects.update_or_create(code=fields.pop("code"), defaults=fields)
            result.created += created
            result.updated += not created
    workbook.close()
    return result


def export_questions() -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "题库"
    sheet.append(HEADER)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for q in Question.objects.order_by("code"):
        options = q.options + [""] * (len(LETTERS) - len(q.options))
        sheet.append([q.code, KIND_LABELS[q.kind], CATEGORY_LABELS[q.category], q.difficulty, q.text, *options,
                      "".join(LETTERS[i] for i in q.answer), q.explanation, "是" if q.active else "否"])
    sheet.column_dimensions["E"].width = 60
    out = BytesIO()
    workbook.save(out)
    return out.getvalue()
