"""The whole path of individual reductions: gathering into whole tonnes, the monitoring report and
evidence, public notice over working days with comments, verification with a reproducible sample,
issuance as serial blocks, a purchase, a transfer, retirements and certificates — and the audit."""

import csv
import io
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook

from tanhui.core.errors import Conflict
from tanhui.core.units import MG_PER_TONNE
from tanhui.ingest.models import Reduction
from tanhui.registry import audit, documents, queries, services
from tanhui.registry.models import Event, IssuanceItem, IssuanceRequest, SampleRecord, SerialBlock
from tests.registry.conftest import AFTER, NOTICE_ENDS, T0, TRIP_MG, may_days, to_verified


def test_full_lifecycle_end_to_end(users, orgs, citizens, ingest_trips, prepare):
    people = citizens(20)
    ingest_trips(people, may_days(4, 8))  # 600 trips = 2,246,400,000 mg
    request = prepare()

    # whole tonnes: the (local_date, id)-ordered prefix that reaches 2 t, whole reductions only
    assert (request.tonnes, request.records) == (2, 535)  # ceil(2e9 / 3,744,000) trips
    assert request.total_mg == 535 * TRIP_MG
    assert request.excess_mg == 535 * TRIP_MG - 2 * MG_PER_TONNE
    assert request.citizens == 20 and request.vintage == 2026
    first_rows = Reduction.objects.order_by("local_date", "id")
    assert set(IssuanceItem.objects.values_list("reduction", flat=True)) == set(
        first_rows.values_list("id", flat=True)[:535])
    assert request.summary["by_scenario"] == [["地铁出行 (metro)", 535, 20, 535 * TRIP_MG]]

    # notice: seven working days after Monday 1 June → Wednesday 10 June; comments meanwhile
    request = services.publish_notice(users.admin, request, now=T0)
    assert request.notice_ends_on == NOTICE_ENDS
    comment = services.add_comment(users.airline, request, "请说明地铁因子来源。", now=T0 + timedelta(days=2))
    services.respond_comment(users.admin, comment, "见报告“排放因子版本”表。", now=T0 + timedelta(days=3))
    with pytest.raises(Conflict, match="notice_closed"):
        services.add_comment(users.airline, request, "迟到的意见", now=AFTER)

    # verification: assigned verifier, sample with provenance, finding, approval after the notice
    services.assign_verifier(users.admin, request, orgs.verifier, now=T0)
    sample = services.draw_sample(users.verifier, request, 12, now=T0 + timedelta(days=1))
    assert [s.position for s in sample] == services.sample_positions(request.pk, request.sample_seed, 535, 12)
    services.add_finding(users.verifier, request, severity="observation", text="与原始记录一致", sample=sample[0],
                         now=T0 + timedelta(days=1))
    with pytest.raises(Conflict, match="notice_open"):
        services.approve(users.verifier, request, now=T0 + timedelta(days=2))
    request = services.approve(users.verifier, request, deduction_tonnes=0, statement="同意", now=AFTER)
    assert request.status == IssuanceRequest.Status.VERIFIED and request.verified_tonnes == 2

    # issuance: serials 1..2 of the request in the platform pool; no citizen points moved
    block = services.issue(users.admin, request, now=AFTER)
    assert block.serial == f"CN-SZ-CGSP-{request.pk}-2026-1-2"
    assert block.account == services.pool_account()

    # purchase at a recorded price, then retirement for an event; the certificate verifies publicly
    listing = services.create_listing(users.admin, services.pool_account(), tonnes=2, price_fen_per_tonne=4350,
                                      now=AFTER)
    sale = services.buy(users.energy, listing, 2, now=AFTER)
    assert (sale.tonnes, sale.price_fen_per_tonne, sale.total_fen) == (2, 4350, 8700)
    energy = services.account_for(orgs.energy)
    assert services.active_tonnes(energy) == 2
    retirement = services.retire(users.energy, energy, purpose="event_neutrality", beneficiary="云澜马拉松组委会",
                                 tonnes=1, event_name="2026 云澜国际马拉松", event_start=date(2026, 6, 14),
                                 event_end=date(2026, 6, 14), now=AFTER)
    assert retirement.certificate_no == "CN-SZ-CGSP-RET-2026-000001"
    assert [b.serial for b in retirement.blocks.all()] == [f"CN-SZ-CGSP-{request.pk}-2026-1-1"]
    assert retirement.event_hash == Event.objects.get(subject=f"retirement:{retirement.pk}").hash
    pdf = documents.certificate_pdf(retirement, "http://testserver/registry/certificates/x/",
                                    services.serial_labels(retirement.blocks.all()))
    assert pdf.startswith(b"%PDF") and b"/Image" in pdf  # the QR code

    # the audit replays all of it
    assert audit.verify() == []
    assert queries.totals() == {"issued_tonnes": 2, "retired_tonnes": 1, "active_tonnes": 1, "issuances": 1,
                                "in_notice": 0, "retirements": 1}


def test_the_remainder_waits_for_the_next_request(users, citizens, ingest_trips, prepare):
    people = citizens(20)
    ingest_trips(people, may_days(4, 8))
    first = prepare(period=(date(2026, 5, 1), date(2026, 5, 31)))
    assert Reduction.objects.count() - first.records == 65  # 65 trips (243.36 kg) stay available
    with pytest.raises(Conflict, match="below_one_tonne"):
        prepare()
    ingest_trips(people, may_days(11, 12))  # 240 more trips: 65 + 240 = 305 → 1 t
    second = prepare()
    assert (second.tonnes, second.records) == (1, 268)
    assert not set(first.items.values_list("reduction", flat=True)) & set(
        second.items.values_list("reduction", flat=True))
    # the earliest leftovers (4–8 May) come first, then 11 May onwards
    leftovers = Reduction.objects.exclude(issuance_item__request=first).order_by("local_date", "id")
    assert list(second.items.order_by("reduction").values_list("reduction", flat=True)) == sorted(
        leftovers.values_list("id", flat=True)[:268])


def test_monitoring_report_and_evidence(users, citizens, ingest_trips, prepare):
    people = citizens(3)
    ingest_trips(people, may_days(4, 19), per_day=6)  # 3 × 16 × 6 = 288 trips → 1 t
    request = prepare()
    pdf = documents.monitoring_report_pdf(request)
    assert pdf.startswith(b"%PDF")

    text = "".join(documents.evidence_csv_chunks(request))
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == request.records == 268
    assert documents.evidence_sha256(request) == request.evidence_sha256
    assert [int(r["row"]) for r in rows] == list(range(268))
    assert [r["local_date"] for r in rows] == sorted(r["local_date"] for r in rows)
    # pseudonymous: no phone, name or public id; one stable pseudonym per citizen in this request
    assert {r["citizen_ref"] for r in rows} == {documents.citizen_ref(request.pk, c.pk) for c in people}
    for citizen in people:
        assert citizen.phone not in text and citizen.public_id not in text and citizen.name not in text
    assert rows[0]["methodology_version"] == "transit v1" and rows[0]["factor_version"] == "metro_pkm_reduction v1"

    sheet = load_workbook(io.BytesIO(documents.evidence_xlsx(request)), read_only=True).worksheets[0]
    cells = list(sheet.values)
    assert cells[0][:3] == ("row", "reduction_id", "provider") and len(cells) == 269


def test_the_sample_is_reproducible_and_carries_provenance(users, orgs, citizens, ingest_trips, prepare):
    ingest_trips(citizens(20), may_days(4, 8))
    request = prepare()
    services.publish_notice(users.admin, request, now=T0)
    services.assign_verifier(users.admin, request, orgs.verifier, now=T0)
    assert services.default_sample_size(535) == 24
    sample = services.draw_sample(users.verifier, request, now=T0)
    assert len(sample) == 24
    # the same seed reproduces the positions, and each position is that row of the evidence extract
    rows = list(documents.evidence_rows(request))
    assert [(s.position, s.reduction_id) for s in sample] == [(p, rows[p][1]) for p in services.sample_positions(
        request.pk, request.sample_seed, 535, 24)]
    # drawing again returns the same sample; another size is refused
    assert services.draw_sample(users.verifier, request, now=T0) == sample
    with pytest.raises(Conflict, match="sample_drawn"):
        services.draw_sample(users.verifier, request, 30, now=T0)
    provenance = queries.sample_with_provenance(request)
    facts = dict(provenance[0]["facts"])
    reduction = Reduction.objects.get(pk=provenance[0]["entry"])
    assert facts["记录编号"] == f"metro_op / {reduction.record_id}"
    assert f"#{reduction.batch_id}" in facts["批次"] and facts["输入哈希"] == reduction.input_hash
    assert "transit" not in facts["方法学版本"] and "v1" in facts["方法学版本"]
    assert "深圳市低碳公共出行碳普惠方法学" in facts["因子来源"]
    assert SampleRecord.objects.filter(request=request).count() == 24


def test_rejection_releases_the_reductions(users, orgs, citizens, ingest_trips, prepare):
    ingest_trips(citizens(20), may_days(4, 8))
    request = prepare()
    services.publish_notice(users.admin, request, now=T0)
    services.assign_verifier(users.admin, request, orgs.verifier, now=T0)
    services.draw_sample(users.verifier, request, now=T0)
    services.reject(users.verifier, request, statement="数据方原始记录无法核对", now=AFTER)
    assert IssuanceItem.objects.count() == 0
    again = prepare(now=AFTER)
    assert again.records == 535
    with pytest.raises(Conflict, match="invalid_status"):
        services.issue(users.admin, request, now=AFTER)
    assert audit.verify() == []


def test_a_deduction_is_never_issued(users, citizens, ingest_trips, prepare):
    ingest_trips(citizens(20), may_days(4, 12))  # 1,080 trips → 4 t
    request = prepare()
    assert request.tonnes == 4
    request = to_verified(users, request, deduction=1)
    block = services.issue(users.admin, request, now=AFTER)
    assert (block.first, block.last) == (1, 3)
    with pytest.raises(Conflict, match="invalid_status"):
        services.issue(users.admin, request, now=AFTER)  # issued once only
    assert SerialBlock.objects.count() == 1 and audit.verify() == []


def test_project_path_to_issuance(users, orgs, project_credits):
    request, block = project_credits()
    assert request.kind == IssuanceRequest.Kind.PROJECT
    assert (request.tonnes, request.excess_mg) == (530, 600_000_000)  # 530.6 t
    assert block.account == services.account_for(orgs.school)
    assert block.serial == f"CN-SZ-CGSP-{request.pk}-2026-1-530"
    assert request.monitoring.count() == 1
    assert audit.verify() == []
