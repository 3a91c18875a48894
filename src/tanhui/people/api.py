"""Citizen self-service API: profile, bindings, scenario consents, account closure, SMS login."""

from datetime import date

from django.contrib.auth import login
from django.shortcuts import get_object_or_404
from ninja import Router, Schema, Status
from ninja.errors import HttpError
from ninja.security import django_auth
from ninja.utils import check_csrf

from tanhui.core.errors import DomainError, NotAllowed
from tanhui.core.schemas import Ok
from tanhui.ingest.models import Provider
from tanhui.methodology.models import Scenario
from tanhui.people import export, guards, services
from tanhui.people.models import Binding, Citizen, Consent

router = Router(tags=["citizen"])


def current_citizen(request) -> Citizen:
    """The signed-in citizen; every /me route acts on this object only."""
    citizen = getattr(request.user, "citizen", None) if request.user.is_authenticated else None
    if citizen is None or not citizen.is_active:
        raise NotAllowed("not_a_citizen", "仅限已登录的市民")
    return citizen


class ProfileOut(Schema):
    public_id: str
    masked_name: str
    district: str | None
    community: str | None


class BindingIn(Schema):
    provider: str
    external_user_id: str


class BindingOut(Schema):
    id: int
    provider: str
    provider_name: str
    external_user_id: str
    bound_at: str


class ConsentIn(Schema):
    scenario: str
    effective_from: date | None = None


class ConsentOut(Schema):
    scenario: str
    scenario_name: str
    effective_from: date | None
    granted_at: str


class PhoneIn(Schema):
    phone: str


class CodeLoginIn(Schema):
    phone: str
    code: str


def _binding_out(b: Binding) -> BindingOut:
    return BindingOut(id=b.id, provider=b.provider.code, provider_name=b.provider.name,
                      external_user_id=b.external_user_id, bound_at=b.bound_at.isoformat())


def _consent_out(c: Consent) -> ConsentOut:
    return ConsentOut(scenario=c.scenario.code, scenario_name=c.scenario.name,
                      effective_from=c.effective_from, granted_at=c.granted_at.isoformat())


@router.get("/me", response=ProfileOut, auth=django_auth)
def me(request):
    c = current_citizen(request)
    return ProfileOut(public_id=c.public_id, masked_name=c.masked_name,
                      district=c.district.name if c.district else None,
                      community=c.community.name if c.community else None)


@router.get("/me/bindings", response=list[BindingOut], auth=django_auth)
def list_bindings(request):
    citizen = current_citizen(request)
    bindings = citizen.bindings.filter(unbound_at__isnull=True).select_related("provider")
    return [_binding_out(b) for b in bindings]


@router.post("/me/bindings", response={201: BindingOut}, auth=django_auth)
def create_binding(request, payload: BindingIn):
    citizen = current_citizen(request)
    provider = Provider.objects.filter(code=payload.provider, active=True).first()
    if provider is None:
        raise DomainError("unknown_provider", "数据方不存在")
    return Status(201, _binding_out(services.bind(citizen, provider, payload.external_user_id.strip())))


@router.delete("/me/bindings/{binding_id}", response=Ok, auth=django_auth)
def delete_binding(request, binding_id: int):
    citizen = current_citizen(request)
    services.unbind(get_object_or_404(Binding, pk=binding_id, citizen=citizen, unbound_at__isnull=True))
    return Ok()


@router.get("/me/consents", response=list[ConsentOut], auth=django_auth)
def list_consents(request):
    citizen = current_citizen(request)
    consents = citizen.consents.filter(revoked_at__isnull=True).select_related("scenario")
    return [_consent_out(c) for c in consents]


@router.post("/me/consents", response={201: ConsentOut}, auth=django_auth)
def grant(request, payload: ConsentIn):
    citizen = current_citizen(request)
    scenario = Scenario.objects.filter(code=payload.scenario).first()
    if scenario is None:
        raise DomainError("unknown_scenario", "场景不存在")
    return Status(201, _consent_out(services.grant_consent(citizen, scenario, payload.effective_from)))


@router.delete("/me/consents/{scenario_code}", response=Ok, auth=django_auth)
def revoke(request, scenario_code: str):
    citizen = current_citizen(request)
    services.revoke_consent(citizen, get_object_or_404(Scenario, code=scenario_code))
    return Ok()


@router.post("/me/close", response=Ok, auth=django_auth)
def close(request):
    services.close_account(current_citizen(request))
    return Ok()


@router.get("/me/export", response=dict, auth=django_auth)
def export_data(request):
    """Everything the platform holds about the signed-in citizen, as a JSON download (个人信息保护法:
    access and portability): the profile decrypted, bindings and consents, every record, coupon and
    activity, the ledger history. Each export is audited."""
    return export.export_personal_data(current_citizen(request), request.user)


def _check_csrf(request) -> None:
    """The login endpoints are not behind `django_auth`, which checks CSRF, so they check it here:
    otherwise another site could sign a visitor in as the attacker (login CSRF)."""
    if check_csrf(request):
        raise HttpError(403, "CSRF check Failed")


@router.post("/auth/sms-code", response=Ok, tags=["auth"])
def sms_code(request, payload: PhoneIn):
    """Limited per client IP and per number (429 `rate_limited`), besides one code a minute."""
    _check_csrf(request)
    guards.check_sms_request(request, payload.phone)
    services.request_login_code(payload.phone)
    return Ok()


@router.post("/auth/sms-login", response=ProfileOut, tags=["auth"])
def sms_login(request, payload: CodeLoginIn):
    """Limited per client IP (429 `rate_limited`); repeated wrong codes lock the number for a while
    (429 `login_locked`), registered or not."""
    _check_csrf(request)
    user = guards.login_by_code(request, payload.phone, payload.code)
    if user is None:
        raise DomainError("invalid_code", "验证码错误或已过期", status=401)
    login(request, user, backend="tanhui.people.auth.PhoneBackend")
    return me(request)
