"""The REST API under /api/v1 (Django Ninja). Each app contributes its router; errors are JSON
objects `{"code": …, "message": …}` with a stable code."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from tanhui.core.errors import DomainError

api = NinjaAPI(title="tanhui 碳惠 API", version="1", urls_namespace="api", docs_url="/docs",
               description="碳普惠平台接口：数据方报送、市民账户、碳账本。")


def _error(request, status: int, code: str, message: str, **extra):
    return api.create_response(request, {"code": code, "message": message, **extra}, status=status)


@api.exception_handler(DomainError)
def domain_error(request, exc: DomainError):
    return _error(request, exc.status, exc.code, exc.message)


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
