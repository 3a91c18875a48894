"""Security headers on every response, and the TLS settings: with TANHUI_TLS=1 behind a proxy,
HSTS, secure cookies and the redirect to https, and `manage.py check --deploy` is clean."""

import os
import subprocess
import sys

import pytest

HEADERS = {"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin",
           "Cross-Origin-Opener-Policy": "same-origin"}


@pytest.mark.parametrize("path", ["/", "/login/", "/dashboard/", "/api/v1/rewards/offers", "/admin/login/"])
def test_every_response_carries_the_security_headers(client, reference_data, path):
    response = client.get(path)

    assert response.status_code == 200
    for header, value in HEADERS.items():
        assert response[header] == value, header
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert "camera=()" in response["Permissions-Policy"] and "geolocation=(self)" in response["Permissions-Policy"]
    assert "Strict-Transport-Security" not in response  # plain http: no TLS configured


def run(tmp_path, code: str, tls: bool) -> subprocess.CompletedProcess:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tanhui.settings", "TANHUI_HOME": str(tmp_path),
           "TANHUI_ALLOWED_HOSTS": "tanhui.example.cn"}
    env.pop("TANHUI_TLS", None)
    if tls:
        env["TANHUI_TLS"] = "1"
    return subprocess.run([sys.executable, "-c", f"import django; django.setup(); {code}"], env=env,
                          capture_output=True, text=True)


CHECK_DEPLOY = ("from django.core.management import call_command; "
                "call_command('check', deploy=True, fail_level='WARNING')")


def test_check_deploy_is_clean_with_tls_on(tmp_path):
    result = run(tmp_path, CHECK_DEPLOY, tls=True)

    assert result.returncode == 0, result.stderr


def test_check_deploy_complains_without_tls(tmp_path):
    result = run(tmp_path, CHECK_DEPLOY, tls=False)

    assert result.returncode != 0 and "security.W004" in result.stderr  # no HSTS


def test_with_tls_http_is_redirected_and_https_gets_hsts_and_secure_cookies(tmp_path):
    code = """
from django.test import Client
client = Client(HTTP_HOST="tanhui.example.cn")
plain = client.get("/login/")
secure = client.get("/login/", HTTP_X_FORWARDED_PROTO="https")
print(plain.status_code, plain["Location"])
print(secure.status_code, secure["Strict-Transport-Security"])
print(secure.cookies["csrftoken"]["secure"])
"""
    result = run(tmp_path, code, tls=True)

    plain, secure, cookie = result.stdout.splitlines()
    assert plain == "301 https://tanhui.example.cn/login/"
    assert secure == "200 max-age=31536000; includeSubDomains; preload"
    assert cookie == "True"
