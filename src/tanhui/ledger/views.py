from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render

from tanhui.core.errors import NotAllowed
from tanhui.ledger import audit, services
from tanhui.ledger.api import statement
from tanhui.people.api import current_citizen


@login_required
def statement_page(request):
    try:
        citizen = current_citizen(request)
    except NotAllowed as exc:
        raise PermissionDenied(exc.message) from exc
    account_id = services.account_of(citizen.pk)
    before = request.GET.get("before", "")
    history = services.history(account_id, before=int(before) if before.isdigit() else None) if account_id else {}
    return render(request, "ledger/statement.html", {"statement": statement(citizen), "history": history})


def roots_page(request):
    return render(request, "ledger/roots.html", {"roots": audit.latest_roots()})
