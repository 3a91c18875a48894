"""The write path of 低碳惠生活: merchant applications, offers, coupons, budgets and donations.

Points only move through `tanhui.ledger.services`:
- claim: the citizen's share of the price is reserved (pending transfer, expiring with the coupon),
  and the budget's share too when a campaign budget pays part;
- use at the counter: the reservations are posted (points burned);
- cancel, expiry: the reservations are voided (points back).

Locks, always taken in this order so that no two of these operations wait on each other in a cycle:
the offer row (claim, cancel, expire) or the merchant row (verification, which serialises a
merchant's counter attempts so the lockout count is exact), then the coupon rows, then the ledger
accounts. An operation that posts more than one ledger transaction locks all the accounts they touch
up front, in id order, as the ledger itself does for one batch (`_lock_accounts`).
"""

from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from tanhui.core import ratelimit
from tanhui.core.errors import Conflict, DomainError, NotAllowed
from tanhui.core.timeutil import SHANGHAI, local_date
from tanhui.ledger import services as ledger
from tanhui.ledger.models import Account, Balance
from tanhui.people.models import Citizen, District, Organisation, User
from tanhui.people.phones import normalise_phone
from tanhui.rewards import codes
from tanhui.rewards.models import (
    CharityProject,
    Coupon,
    Donation,
    FundingBudget,
    Merchant,
    Offer,
    VerificationFailure,
)

# (attempts, seconds): claims one citizen may try per window; failed counter verifications after
# which a merchant's verification is locked until the oldest of them is a window old.
CLAIM_RATE = (10, 60)
LOCKOUT = (5, 15 * 60)
COUPON_REF = "rewards.coupon"


def _limit(name: str, default: tuple[int, int]) -> tuple[int, int]:
    return getattr(settings, name, default)


def end_of_day(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=SHANGHAI)


# Merchants -------------------------------------------------------------------------------------

def merchant_of(user) -> Merchant | None:
    """The approved merchant a signed-in staff user (role merchant) works for."""
    if not (user.is_authenticated and user.is_active and user.role == User.Role.MERCHANT and user.organisation_id):
        return None
    return (Merchant.objects.select_related("organisation")
            .filter(organisation_id=user.organisation_id, status=Merchant.Status.APPROVED).first())


def register_applicant(username: str, password: str, **application) -> Merchant:
    """A new merchant login (active, without organisation until approval) and its application."""
    with transaction.atomic():
        if User.objects.filter(username__iexact=username).exists():
            raise Conflict("username_taken", "该用户名已被使用")
        user = User(username=username, role=User.Role.MERCHANT)
        user.set_password(password)
        user.save()
        return submit_application(user, **application)


def submit_application(user, *, name: str, licence_no: str, district: District, service_districts,
                       address: str, contact_name: str, contact_phone: str) -> Merchant:
    """Files an application, or resubmits a pending or rejected one with new details."""
    if user.role != User.Role.MERCHANT or user.organisation_id:
        raise NotAllowed("not_an_applicant", "仅限尚未入驻的商家账号提交申请")
    licence_no = licence_no.strip().upper()
    if not codes.licence_valid(licence_no):
        raise DomainError("invalid_licence", "统一社会信用代码不正确（18 位，末位为校验码）")
    phone = normalise_phone(contact_phone)
    if phone is None:
        raise DomainError("invalid_phone", "联系电话须为 11 位大陆手机号码")
    service_districts = list(service_districts)
    if not service_districts:
        raise DomainError("no_districts", "请至少选择一个经营区域")
    if Organisation.objects.filter(kind=Organisation.Kind.MERCHANT, name=name.strip()).exists():
        raise Conflict("name_taken", "已有同名商家入驻")
    with transaction.atomic():
        merchant = Merchant.objects.select_for_update().filter(applicant=user).first() or Merchant(applicant=user)
        if merchant.status == Merchant.Status.APPROVED:
            raise Conflict("already_approved", "该账号的商家申请已通过")
        merchant.name, merchant.licence_no, merchant.district = name.strip(), licence_no, district
        merchant.address, merchant.contact_name, merchant.contact_phone = address.strip(), contact_name.strip(), phone
        merchant.status, merchant.reason, merchant.submitted_at = Merchant.Status.PENDING, "", timezone.now()
        merchant.reviewed_at = merchant.reviewed_by = None
        merchant.save()
        merchant.service_districts.set(service_districts)
    return merchant


def review(merchant: Merchant, by, *, approve: bool, reason: str = "") -> Merchant:
    """Approval creates the merchant organisation and makes the applicant its staff; a rejection
    needs a reason, which the applicant sees."""
    reason = reason.strip()
    if not approve and not reason:
        raise DomainError("reason_required", "驳回时须填写原因")
    with transaction.atomic():
        merchant = Merchant.objects.select_for_update().get(pk=merchant.pk)
        if merchant.status != Merchant.Status.PENDING:
            raise Conflict("not_pending", "该申请不在待审核状态")
        if approve:
            try:
                with transaction.atomic():
                    merchant.organisation = Organisation.objects.create(
                        kind=Organisation.Kind.MERCHANT, name=merchant.name, licence_no=merchant.licence_no,
                        district=merchant.district)
            except IntegrityError as exc:
                raise Conflict("name_taken", "已有同名商家入驻") from exc
            User.objects.filter(pk=merchant.applicant_id).update(organisation=merchant.organisation)
        merchant.status = Merchant.Status.APPROVED if approve else Merchant.Status.REJECTED
        merchant.reason, merchant.reviewed_at, merchant.reviewed_by = reason, timezone.now(), by
        merchant.save()
    return merchant


# Campaign budgets ------------------------------------------------------------------------------

def create_budget(code: str, name: str, max_points_per_coupon: int) -> FundingBudget:
    if FundingBudget.objects.filter(code=code).exists():
        raise Conflict("code_taken", "预算代码已存在")
    if max_points_per_coupon < 1:
        raise DomainError("invalid_amount", "每券补贴须为正整数")
    with transaction.atomic():
        account_id = ledger.named_account(Account.Kind.CAMPAIGN, f"rewards:{code}")
        return FundingBudget.objects.create(code=code, name=name, account_id=account_id,
                                            max_points_per_coupon=max_points_per_coupon)


def fund_budget(budget: FundingBudget, points: int, *, request_key: str) -> ledger.TxResult:
    """Puts points into the budget (a bonus issued by the platform); a repeated `request_key` is a
    replay, not a second payment."""
    if type(points) is not int or points <= 0:
        raise DomainError("invalid_amount", "注资积分须为正整数")
    issuer = ledger.system_account(Account.Kind.ISSUANCE, ledger.shard_of(budget.account_id))
    spec = ledger.move_points(issuer, budget.account_id, points, kind="bonus",
                              idempotency_key=f"rewards:budget:{budget.pk}:{request_key}",
                              ref_type="rewards.budget", ref_id=str(budget.pk), memo="活动预算注资")
    return ledger.post_transactions([spec])[0]


def budget_points(budget: FundingBudget) -> int:
    return ledger.balance(budget.account_id)[ledger.POINTS]


# Offers ----------------------------------------------------------------------------------------

OFFER_FIELDS = ("title", "description", "category", "points_price", "stock", "per_citizen_limit", "valid_from",
                "valid_until", "coupon_days", "funding", "funded_points")


def save_offer(merchant: Merchant, data: dict, offer: Offer | None = None) -> Offer:
    """Creates or edits an offer of the merchant. `data` holds OFFER_FIELDS, `districts` and
    optionally `image`; coupons already claimed keep the price they were claimed at."""
    if offer is not None and offer.merchant_id != merchant.organisation_id:
        raise NotAllowed("not_your_offer", "只能修改本商家的优惠")
    _check_offer(merchant, data)
    with transaction.atomic():
        if offer is None:
            offer = Offer(merchant=merchant.organisation)
        else:
            offer = Offer.objects.select_for_update().get(pk=offer.pk)
            if data["stock"] < offer.taken:
                raise Conflict("stock_below_taken", f"库存不能少于已领取的 {offer.taken} 张")
        for name in OFFER_FIELDS:
            setattr(offer, name, data[name])
        if data.get("image"):
            offer.image = data["image"]
        offer.save()
        offer.districts.set(data["districts"])
    return offer


def _check_offer(merchant: Merchant, data: dict) -> None:
    if data["points_price"] < 1 or data["stock"] < 1 or data["per_citizen_limit"] < 1 or data["coupon_days"] < 1:
        raise DomainError("invalid_amount", "积分、库存、限领与有效天数须为正整数")
    if data["valid_from"] > data["valid_until"]:
        raise DomainError("invalid_window", "结束日期不能早于开始日期")
    districts = {d.pk for d in data["districts"]}
    if not districts or not districts <= set(merchant.service_districts.values_list("pk", flat=True)):
        raise DomainError("invalid_districts", "可用区域须为本商家经营区域中的至少一个")
    budget, funded = data["funding"], data["funded_points"]
    if budget is None:
        if funded:
            raise DomainError("invalid_funding", "未选择活动预算时补贴须为 0")
        return
    if not budget.active:
        raise DomainError("invalid_funding", "该活动预算已停用")
    if not 1 <= funded <= budget.max_points_per_coupon:
        raise DomainError("invalid_funding", f"每券补贴须为 1–{budget.max_points_per_coupon} 积分")
    if funded >= data["points_price"]:
        raise DomainError("invalid_funding", "补贴须少于所需积分：市民至少支付 1 积分")


def set_offer_status(merchant: Merchant, offer: Offer, status: str) -> Offer:
    """Publish (from draft or withdrawn) or withdraw (from published). Coupons already claimed stay
    valid after a withdrawal."""
    allowed = {Offer.Status.PUBLISHED: {Offer.Status.DRAFT, Offer.Status.WITHDRAWN},
               Offer.Status.WITHDRAWN: {Offer.Status.PUBLISHED}}
    if offer.merchant_id != merchant.organisation_id:
        raise NotAllowed("not_your_offer", "只能修改本商家的优惠")
    with transaction.atomic():
        offer = Offer.objects.select_for_update().get(pk=offer.pk)
        if offer.status not in allowed.get(status, ()):
            raise Conflict("invalid_status", "当前状态下不能进行该操作")
        offer.status = status
        offer.save(update_fields=["status", "updated_at"])
    return offer


def price_of(offer: Offer, budget_balances: dict[int, int] | None = None) -> tuple[int, int]:
    """(citizen's points, budget's points) for a claim now: the budget pays its share while it
    still holds enough points for it."""
    funded = offer.funded_points if offer.funding_id and offer.funding.active else 0
    if funded:
        available = (budget_balances[offer.funding_id] if budget_balances is not None
                     else budget_points(offer.funding))
        funded = funded if available >= funded else 0
    return offer.points_price - funded, funded


# Coupons ---------------------------------------------------------------------------------------

def claim(citizen: Citizen, offer_id: int, *, request_key: str | None = None,
          expected_points: int | None = None) -> Coupon:
    """Claims one unit of the offer: checks window, stock and the citizen's limit under the offer's
    row lock, reserves the points and issues a coupon. The same `request_key` (a form submitted
    twice) returns the coupon of the first claim. `expected_points`, when given, is the price the
    citizen saw: a claim at another price is refused."""
    if not citizen.is_active:
        raise NotAllowed("account_closed", "账户已注销")

    def make() -> Coupon:
        _throttle_claims(citizen)
        account = ledger.citizen_accounts([citizen.pk])[citizen.pk]
        now = timezone.now()
        with transaction.atomic():
            offer = Offer.objects.select_for_update(of=("self",)).select_related("funding").filter(pk=offer_id).first()
            if offer is None:
                raise DomainError("unknown_offer", "优惠不存在", status=404)
            _check_claimable(offer, citizen, local_date(now))
            citizen_points, funded = price_of(offer)
            if expected_points is not None and expected_points != citizen_points:
                raise Conflict("price_changed", f"所需积分已变为 {citizen_points}，请确认后再兑换")
            coupon = Coupon.objects.create(
                offer=offer, citizen=citizen, code=codes.new_code(), citizen_points=citizen_points,
                funded_points=funded, request_key=request_key or None, claimed_at=now,
                expires_at=min(now + timedelta(days=offer.coupon_days), end_of_day(offer.valid_until)))
            _reserve(coupon, account, offer.funding)
            Offer.objects.filter(pk=offer.pk).update(taken=F("taken") + 1)
        return coupon

    return _once(Coupon, citizen, request_key, make)


def _once(model, citizen: Citizen, request_key: str | None, make):
    """make(), unless the citizen already sent `request_key` (a form submitted twice): then the row
    the first request made, also when both arrive at once and the unique constraint decides."""
    def earlier():
        return model.objects.filter(citizen=citizen, request_key=request_key).first() if request_key else None

    if found := earlier():
        return found
    try:
        return make()
    except IntegrityError:
        if found := earlier():
            return found
        raise


def _throttle_claims(citizen: Citizen) -> None:
    """At most CLAIM_RATE[0] claim attempts (successful or not) per citizen per fixed window, counted
    by the shared rate-limit counts: cheap enough to run before any lock is taken."""
    rate = ratelimit.Rate(*_limit("TANHUI_REWARDS_CLAIM_RATE", CLAIM_RATE))
    if ratelimit.hit("coupon_claim", str(citizen.pk), rate) is not None:
        raise DomainError("too_many_claims", "兑换过于频繁，请稍后再试", status=429)


def _check_claimable(offer: Offer, citizen: Citizen, today: date) -> None:
    if offer.status != Offer.Status.PUBLISHED:
        raise Conflict("offer_unavailable", "该优惠未上架")
    if not offer.valid_from <= today <= offer.valid_until:
        raise Conflict("offer_unavailable", "不在优惠活动时间内")
    if offer.taken >= offer.stock:
        raise Conflict("sold_out", "已兑完")
    held = Coupon.objects.filter(offer=offer, citizen=citizen,
                                 status__in=(Coupon.Status.ISSUED, Coupon.Status.USED)).count()
    if held >= offer.per_citizen_limit:
        raise Conflict("limit_reached", f"每人限领 {offer.per_citizen_limit} 张")


def _reserve(coupon: Coupon, account: int, budget: FundingBudget | None) -> None:
    """Reserves the budget's share (if any), then the citizen's."""
    key = f"{COUPON_REF}:{coupon.pk}"
    if coupon.funded_points:
        _lock_accounts([account, _hold_of(account), budget.account_id, _hold_of(budget.account_id)])
        try:
            coupon.funding_reservation_id = ledger.reserve(
                budget.account_id, coupon.funded_points, idempotency_key=f"{key}:funding",
                expires_at=coupon.expires_at, ref_type=COUPON_REF, ref_id=str(coupon.pk),
                memo="活动补贴").tx_id
        except Conflict as exc:
            if exc.code == "insufficient_balance":
                raise Conflict("funding_exhausted", "活动补贴刚刚用完，请刷新页面按新价格兑换") from exc
            raise
    coupon.reservation_id = ledger.reserve(account, coupon.citizen_points, idempotency_key=key,
                                           expires_at=coupon.expires_at, ref_type=COUPON_REF,
                                           ref_id=str(coupon.pk), memo=coupon.offer.title[:200]).tx_id
    coupon.save(update_fields=["reservation_id", "funding_reservation_id"])


def _hold_of(account_id: int) -> int:
    return ledger.system_account(Account.Kind.HOLD, ledger.shard_of(account_id))


def _burned_of(account_id: int) -> int:
    return ledger.system_account(Account.Kind.BURNED, ledger.shard_of(account_id))


def _lock_accounts(account_ids: list[int]) -> None:
    """Locks the accounts' balance rows in id order, as the ledger does for one batch (see the module
    docstring). Only a lock: the rows are written by the ledger alone."""
    list(Balance.objects.select_for_update(no_key=True).filter(pk__in=set(account_ids)).order_by("pk")
         .values_list("pk", flat=True))


def _reservations(coupon: Coupon) -> list[int]:
    return [r for r in (coupon.funding_reservation_id, coupon.reservation_id) if r]


def _lock_for_settling(coupon: Coupon, to_burned: bool) -> None:
    """Before posting (to burned) or voiding (back to their accounts) a funded coupon's two
    reservations: every account the two settlements touch."""
    if coupon.funded_points:
        budget_account = coupon.offer.funding.account_id
        account = ledger.account_of(coupon.citizen_id)
        ids = [_hold_of(account), _hold_of(budget_account)]
        ids += [_burned_of(account), _burned_of(budget_account)] if to_burned else [account, budget_account]
        _lock_accounts(ids)


def cancel(citizen: Citizen, coupon_id: int) -> Coupon:
    """The citizen gives an unused coupon back: its points are released and the unit returns to stock."""
    with transaction.atomic():
        offer_id = Coupon.objects.filter(pk=coupon_id, citizen=citizen).values_list("offer_id", flat=True).first()
        if offer_id is None:
            raise DomainError("unknown_coupon", "券不存在", status=404)
        Offer.objects.select_for_update().filter(pk=offer_id).first()  # lock order: offer, coupon, accounts
        coupon = Coupon.objects.select_for_update(of=("self",)).select_related("offer__funding").get(pk=coupon_id)
        if not coupon.usable:
            raise Conflict("not_cancellable", f"该券{coupon.display_status}，不能取消")
        _lock_for_settling(coupon, to_burned=False)
        for reservation in _reservations(coupon):
            ledger.void_reservation(reservation, "cancelled")
        _close(coupon, Coupon.Status.CANCELLED, timezone.now())
    return coupon


def _close(coupon: Coupon, status: str, now: datetime) -> None:
    coupon.status, coupon.closed_at = status, now
    coupon.save(update_fields=["status", "closed_at"])
    Offer.objects.filter(pk=coupon.offer_id).update(taken=F("taken") - 1)


def expire_coupons(now: datetime | None = None) -> dict:
    """Expires every issued coupon whose time is up and voids its reservations, in one transaction.
    The voiding is the ledger's `release_expired_reservations` (one batch, accounts locked in id
    order); a reservation that `tanhui ledger expire` already voided counts as released. Coupon and
    reservation share their expiry time, so both sides always agree."""
    now = now or timezone.now()
    due = Coupon.objects.filter(status=Coupon.Status.ISSUED, expires_at__lte=now)
    with transaction.atomic():
        offer_ids = sorted(set(due.values_list("offer_id", flat=True)))
        list(Offer.objects.select_for_update().filter(pk__in=offer_ids).order_by("pk").values_list("pk", flat=True))
        coupons = list(due.select_for_update().order_by("pk"))
        released = ledger.release_expired_reservations(now)
        for coupon in coupons:
            _close(coupon, Coupon.Status.EXPIRED, now)
    return {"coupons_expired": len(coupons), "points_released": sum(c.points for c in coupons),
            "reservations_released": released}


# Verification at the counter -------------------------------------------------------------------

def verification_locked_until(merchant: Organisation, now: datetime | None = None) -> datetime | None:
    """When the merchant may verify again after LOCKOUT[0] failures within LOCKOUT[1] seconds."""
    limit, seconds = _limit("TANHUI_REWARDS_LOCKOUT", LOCKOUT)
    now = now or timezone.now()
    window = timedelta(seconds=seconds)
    recent = list(VerificationFailure.objects.filter(merchant=merchant, at__gt=now - window)
                  .order_by("-at").values_list("at", flat=True)[:limit])
    return recent[-1] + window if len(recent) >= limit else None


def redeem(user, code: str) -> Coupon:
    """Verifies a code typed or scanned at the counter of the user's merchant and uses the coupon:
    its reservations are posted (the points burned). A code that is not a coupon, or a coupon of
    another merchant, counts as a failure towards the merchant's lockout."""
    merchant = merchant_of(user)
    if merchant is None:
        raise NotAllowed("not_merchant_staff", "仅限已入驻商家的店员核销")
    normalised = codes.normalise(code)
    now, failure = timezone.now(), None
    with transaction.atomic():
        Merchant.objects.select_for_update().filter(pk=merchant.pk).first()  # one attempt at a time per merchant
        if until := verification_locked_until(merchant.organisation, now):
            raise DomainError("verification_locked",
                              f"错误次数过多，核销已锁定至 {until.astimezone(SHANGHAI):%H:%M}", status=429)
        coupon = (Coupon.objects.select_for_update(of=("self",)).select_related("offer__funding")
                  .filter(code=normalised).first()) if normalised else None
        if coupon is None:
            failure = VerificationFailure.Reason.WRONG_CODE
        elif coupon.offer.merchant_id != merchant.organisation_id:
            failure = VerificationFailure.Reason.WRONG_MERCHANT
        if failure:
            VerificationFailure.objects.create(merchant=merchant.organisation, user=user, reason=failure, at=now)
        else:
            _use(coupon, user, now)
    if failure == VerificationFailure.Reason.WRONG_CODE:  # raised after the commit: the failure is kept
        raise DomainError("wrong_code", "券码无效，请核对后重试", status=404)
    if failure:
        raise NotAllowed("wrong_merchant", "该券不是本店的优惠券，不能在本店使用")
    return coupon


def _use(coupon: Coupon, user, now: datetime) -> None:
    if coupon.status == Coupon.Status.USED:
        raise Conflict("already_used", f"该券已于 {coupon.used_at.astimezone(SHANGHAI):%Y-%m-%d %H:%M} 使用")
    if not coupon.usable:
        raise Conflict("not_usable", f"该券{coupon.display_status}，不能使用")
    _lock_for_settling(coupon, to_burned=True)
    for reservation in _reservations(coupon):
        ledger.post_reservation(reservation, memo="used")
    coupon.status, coupon.used_at, coupon.used_by = Coupon.Status.USED, now, user
    coupon.save(update_fields=["status", "used_at", "used_by"])


# Charity ---------------------------------------------------------------------------------------

def create_project(*, code: str, title: str, organiser: str, description: str, goal_points: int,
                   district: District | None = None) -> CharityProject:
    if CharityProject.objects.filter(code=code).exists():
        raise Conflict("code_taken", "项目代码已存在")
    if goal_points < 1:
        raise DomainError("invalid_amount", "目标积分须为正整数")
    with transaction.atomic():
        account_id = ledger.named_account(Account.Kind.CHARITY, f"rewards:{code}")
        return CharityProject.objects.create(code=code, title=title, organiser=organiser, description=description,
                                             goal_points=goal_points, district=district, account_id=account_id)


def donate(citizen: Citizen, project_id: int, points: int, *, request_key: str | None = None) -> Donation:
    """Moves points from the citizen to the project's account (a ledger `donate` transfer); a
    donation never takes the project past its goal."""
    if not citizen.is_active:
        raise NotAllowed("account_closed", "账户已注销")
    if type(points) is not int or points <= 0:
        raise DomainError("invalid_amount", "捐赠积分须为正整数")
    return _once(Donation, citizen, request_key, lambda: _donate(citizen, project_id, points, request_key))


def _donate(citizen: Citizen, project_id: int, points: int, request_key: str | None) -> Donation:
    account = ledger.citizen_accounts([citizen.pk])[citizen.pk]
    with transaction.atomic():
        project = CharityProject.objects.select_for_update().filter(pk=project_id).first()
        if project is None:
            raise DomainError("unknown_project", "公益项目不存在", status=404)
        if project.status != CharityProject.Status.OPEN or not project.remaining:
            raise Conflict("project_closed", "该项目已结束募集")
        if points > project.remaining:
            raise Conflict("over_goal", f"该项目距目标只差 {project.remaining} 积分")
        donation = Donation.objects.create(project=project, citizen=citizen, points=points,
                                           request_key=request_key or None)
        donation.transfer_id = ledger.post_transactions([ledger.move_points(
            account, project.account_id, points, kind="donate", idempotency_key=f"rewards:donation:{donation.pk}",
            ref_type="rewards.donation", ref_id=str(donation.pk), memo=project.title[:200])])[0].tx_id
        donation.save(update_fields=["transfer_id"])
        CharityProject.objects.filter(pk=project.pk).update(raised_points=F("raised_points") + points)
    return donation

