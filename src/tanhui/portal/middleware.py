"""Response headers for every page, and the audit of staff actions.

Content-Security-Policy: scripts, styles, images, fonts and data come from this site only, so no
page can make the browser request another host (no CDN, no tracker), and an injected inline script
does not run. Pages pass data to their scripts with `json_script`. Permissions-Policy switches off
browser features no page uses. (Django's SecurityMiddleware adds HSTS, nosniff, Referrer-Policy
and Cross-Origin-Opener-Policy; XFrameOptionsMiddleware X-Frame-Options: DENY.)"""

from django.http import HttpRequest

from tanhui.portal.audit import is_staff_actor, record
from tanhui.portal.models import AuditEvent, RequestScope, current_request

POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
# Location only for this site's own pages (the check-in page offers it); every other feature off.
PERMISSIONS_POLICY = ", ".join(["geolocation=(self)", *(f"{feature}=()" for feature in [
    "accelerometer", "autoplay", "camera", "display-capture", "fullscreen", "gyroscope", "magnetometer",
    "microphone", "midi", "payment", "usb", "interest-cohort"])])
SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", POLICY)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response


class StaffActionAuditMiddleware:
    """Every successful state-changing request (POST, PUT, PATCH, DELETE) of an administrator or
    support staff member is written to the audit log, unless handling it already wrote a more
    specific event (a look-up, an admin change, an unlock…). The event names the page and its
    object ids; what was posted is not kept."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        if request.method in SAFE_METHODS:
            return self.get_response(request)
        scope = RequestScope(request.user)
        token = current_request.set(scope)
        try:
            response = self.get_response(request)
        finally:
            current_request.reset(token)
        if not scope.events and response.status_code < 400 and is_staff_actor(request.user):
            match = request.resolver_match
            record(AuditEvent.Action.STAFF_ACTION, actor=request.user,
                   target=match.view_name if match else request.path[:100],
                   object_id=",".join(str(value) for value in match.kwargs.values()) if match else "",
                   detail={"method": request.method, "status": response.status_code})
        return response
