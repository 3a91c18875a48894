"""Reads shared by the pages and the API."""

from django.utils import timezone

from tanhui.core.timeutil import local_date
from tanhui.ledger import services as ledger
from tanhui.rewards import services
from tanhui.rewards.models import FundingBudget, Merchant, Offer


def available_offers():
    """Published offers of approved merchants, claimable today."""
    today = local_date(timezone.now())
    return (Offer.objects.filter(status=Offer.Status.PUBLISHED, valid_from__lte=today, valid_until__gte=today,
                                 merchant__merchant__status=Merchant.Status.APPROVED)
            .select_related("merchant", "funding").prefetch_related("districts"))


def with_prices(offers) -> list[Offer]:
    """Sets `price` (the citizen's points) and `subsidy` (the budget's) on each offer as a claim now
    would split them, reading each budget's balance once."""
    budgets = {b.pk: services.budget_points(b) for b in FundingBudget.objects.filter(
        pk__in={o.funding_id for o in offers if o.funding_id})}
    for offer in offers:
        offer.price, offer.subsidy = services.price_of(offer, budgets)
    return offers


def points_of(citizen) -> int | None:
    """The citizen's spendable points (None when nobody is signed in as a citizen)."""
    if citizen is None:
        return None
    account = ledger.account_of(citizen.pk)
    return ledger.balance(account)[ledger.POINTS] if account else 0
