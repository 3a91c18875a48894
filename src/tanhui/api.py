"""The REST API under /api/v1 (Django Ninja). Each app contributes its router; errors are JSON
objects `{"code": …, "message": …}` with a stable code."""

import threading

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DataError, InterfaceError, OperationalError
from django.http import Http404
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, Throttled
from ninja.errors import ValidationError as NinjaValidationError
from ninja.throttling import BaseThrottle

from tanhui.core import ratelimit
from tanhui.core.errors import DomainError


class CallerThrottle(BaseThrottle):
    """One limit per caller over the whole API (settings.TANHUI_RATE_LIMITS): `api_key` per provider
    API key, `api_user` per signed-in user, `api_anon` per client IP. Ninja runs it after
    authentication, so the caller is known."""

    def __init__(self):
        self._last = threading.local()  # the wait of this thread's last refused request

    def allow_request(self, request) -> bool:
        self._last.wait = ratelimit.hit(*self.caller(request))
        return self._last.wait is None

    def wait(self) -> int | None:
        return self._last.wait

    @staticmethod
    def caller(request) -> tuple[str, str]:
        auth = getattr(request, "auth", None)
        if auth is not None and auth is not request.user:
            return "api_key", f"{type(auth).__name__}:{auth.pk}"
        if request.user.is_authenticated:
            return "api_user", str(request.user.pk)
        return "api_anon", ratelimit.client_ip(request)


ERROR_RESPONSES = {  # what the exception handlers below answer, on any route
    400: "请求无法处理（原因见 code）",
    403: "无权访问",
    404: "对象不存在",
    409: "与当前状态冲突",
    422: "请求参数不正确",
    429: "请求过于频繁（见 Retry-After）",
    503: "数据库暂时不可用（见 Retry-After）",
}
ERROR_SCHEMA = {"type": "object", "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
                "required": ["code", "message"], "title": "Error"}


class DocumentedErrorsAPI(NinjaAPI):
    """Declares the shared error responses `{"code", "message"}` on every operation of the OpenAPI
    schema (401 too where the operation needs a login or an API key), so that the schema names every
    status a route may answer without each route repeating them."""

    def get_openapi_schema(self, **kwargs):
        schema = super().get_openapi_schema(**kwargs)
        schema["components"].setdefault("schemas", {})["Error"] = ERROR_SCHEMA
        error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        for operations in schema["paths"].values():
            for operation in operations.values():
                login = {401: "未登录或 API 密钥无效"} if operation.get("security") else {}
                for status, description in {**ERROR_RESPONSES, **login}.items():
                    operation["responses"].setdefault(status, {"description": description, "content": error})
        return schema


api = DocumentedErrorsAPI(title="tanhui 碳惠 API", version="1", urls_namespace="api", docs_url="/docs",
               description="碳普惠平台接口：数据方报送、市民账户、碳账本。", throttle=[CallerThrottle()])


def _error(request, status: int, code: str, message: str, **extra):
    return api.create_response(request, {"code": code, "message": message, **extra}, status=status)


@api.exception_handler(DomainError)
def domain_error(request, exc: DomainError):
    response = _error(request, exc.status, exc.code, exc.message)
    if isinstance(exc, ratelimit.RateLimited):
        response["Retry-After"] = str(exc.retry_after)
    return response


@api.exception_handler(Throttled)
def throttled(request, exc: Throttled):
    """Over the caller's API-wide limit; Ninja adds Retry-After."""
    return _error(request, 429, "rate_limited", "请求过于频繁，请稍后再试")


@api.exception_handler(AuthenticationError)
def unauthenticated(request, exc):
    return _error(request, 401, "unauthenticated", "登录或提供有效的 API 密钥")


@api.exception_handler(PermissionDenied)
def forbidden(request, exc):
    return _error(request, 403, "forbidden", str(exc) or "无权访问")


@api.exception_handler(Http404)
def not_found(request, exc):
    return _error(request, 404, "not_found", "对象不存在")


@api.exception_handler(NinjaValidationError)
def invalid_request(request, exc: NinjaValidationError):
    return _error(request, 422, "invalid_request", "请求参数不正确", errors=exc.errors)


@api.exception_handler(ValidationError)
def invalid_value(request, exc: ValidationError):
    return _error(request, 422, "invalid_request", "; ".join(exc.messages))


@api.exception_handler(HttpError)
def http_error(request, exc: HttpError):
    if exc.status_code == 403 and "CSRF" in str(exc):
        return _error(request, 403, "csrf_failed", "缺少或错误的 CSRF 令牌")
    return _error(request, exc.status_code, "http_error", str(exc))


class HealthOut(Schema):
    status: str


@api.get("/health", response=HealthOut, tags=["operations"])
def health(request):
    """Liveness for load balancers and monitors; touches no database, so it is also the API's own
    ceiling in the load benchmark."""
    return {"status": "ok"}


@api.exception_handler(InterfaceError)
@api.exception_handler(OperationalError)
def database_unavailable(request, exc):
    """The database cannot be reached (restarting, failing over) or is full: the request's transaction did
    not commit, so the client can safely retry."""
    response = _error(request, 503, "database_unavailable", "数据库暂时不可用，请稍后重试")
    response["Retry-After"] = "5"
    return response


@api.exception_handler(OverflowError)
@api.exception_handler(DataError)
def out_of_range(request, exc):
    """A value the database cannot hold (an id of twenty digits, a text longer than its column): refused
    like any other invalid parameter, rather than failing as a server error."""
    return _error(request, 422, "invalid_request", "参数超出允许的范围")


def _register_routers() -> None:
    from tanhui.engagement.api import router as engagement_router
    from tanhui.ingest.api import router as ingest_router
    from tanhui.ledger.api import router as ledger_router
    from tanhui.people.api import router as people_router
    from tanhui.registry.api import router as registry_router
    from tanhui.rewards.api import router as rewards_router
    from tanhui.supervision.api import router as supervision_router

    api.add_router("/", people_router)
    api.add_router("/", ledger_router)
    api.add_router("/", ingest_router)
    api.add_router("/supervision/", supervision_router)
    api.add_router("/rewards/", rewards_router)
    api.add_router("/engagement/", engagement_router)
    api.add_router("/registry/", registry_router)


_register_routers()
