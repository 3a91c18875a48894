"""The registry's panel on the public big screen (`dashboard.queries.EXTENSION_PANELS`)."""

from django.utils.translation import gettext as _

from tanhui.registry import queries


def figures() -> list[dict]:
    totals = queries.totals()
    return [{"label": _("累计签发"), "value": totals["issued_tonnes"], "unit": _("吨")},
            {"label": _("累计注销"), "value": totals["retired_tonnes"], "unit": _("吨")},
            {"label": _("公示中的申请"), "value": totals["in_notice"], "unit": _("项")}]
