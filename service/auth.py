"""HTTP Basic auth: the Rails pair for recommendations and profiles, the admin pair for operations
(constant-time comparison); failed logins logged once per source address a minute, never a secret."""

from __future__ import annotations

import base64
import binascii
import hmac
import logging

from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from service.throttled_log import ThrottledLog

log = logging.getLogger("service.auth")
PUBLIC_PATH_PREFIXES = ("/health", "/docs")
ADMIN_PATH_PREFIXES = ("/admin", "/stats", "/metrics")  # the admin pair only
ADMIN_SECURITY: list[dict[str, list[str]]] = [{"admin": []}]  # how OpenAPI names the rule on those routes
REALM = 'Basic realm="mysanta-recommendations", charset="UTF-8"'


def basic_credentials(header_value: str | None) -> tuple[bytes, bytes] | None:
    """The (user, password) of an `Authorization: Basic ...` value, or None if it carries none."""
    if not header_value:
        return None
    scheme, _, encoded = header_value.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    given_user, separator, given_password = decoded.partition(b":")
    return (given_user, given_password) if separator else None


def pair_matches(given: tuple[bytes, bytes] | None, username: str, password: str) -> bool:
    """True when decoded credentials are exactly this pair (constant time)."""
    if given is None:
        return False
    # Both comparisons always run, so timing does not tell which half was wrong.
    user_ok = hmac.compare_digest(given[0], username.encode())
    password_ok = hmac.compare_digest(given[1], password.encode())
    return user_ok and password_ok


def credentials_match(header_value: str | None, username: str, password: str) -> bool:
    """True when an `Authorization: Basic ...` value carries exactly these credentials."""
    return pair_matches(basic_credentials(header_value), username, password)


def _under(path: str, prefixes: tuple[str, ...]) -> bool:
    return any(path == prefix or path.startswith(prefix + "/") for prefix in prefixes)


def _is_public(scope: Scope) -> bool:
    return _under(scope["path"], PUBLIC_PATH_PREFIXES)


class FailedLoginLog:
    """One `auth.failed` warning per source address a minute, with how many failures it stands for."""

    def __init__(self) -> None:
        self._log = ThrottledLog(log, "auth.failed", "failures")

    def record(self, address: str, route: str, status: int) -> None:
        """Count a failed login from address; log it if the address was not logged this minute."""
        self._log.record(address, client=address, route=route, status=status)


class BasicAuthMiddleware(ASGIMiddleware):
    """Lets the admin pair through everywhere and the Rails pair everywhere but the admin routes,
    /stats and /metrics (403 there); anything else is a 401 (problem+json by the app's handlers)."""

    should_bypass_for_scope = staticmethod(_is_public)

    def __init__(self, credentials: tuple[str, str], admin_credentials: tuple[str, str]) -> None:
        self.credentials = credentials
        self.admin_credentials = admin_credentials
        self.failures = FailedLoginLog()

    def allows(self, header: str | None, path: str) -> tuple[bool, bool]:
        """Whether an Authorization value lets a request to path through, and whether it carries the
        Rails pair (a refusal is then a 403, else a 401)."""
        given = basic_credentials(header)
        is_admin = pair_matches(given, *self.admin_credentials)
        is_rails = pair_matches(given, *self.credentials)
        return is_admin or (is_rails and not _under(path, ADMIN_PATH_PREFIXES)), is_rails

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        """Pass authorised requests on; answer the others here."""
        header = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                header = value.decode("latin-1")
                break
        allowed, is_rails = self.allows(header, scope["path"])
        if allowed:
            await next_app(scope, receive, send)
            return
        client = scope.get("client")
        address = str(client[0]) if client else "unknown"
        if is_rails:
            self.failures.record(address, scope["path"], 403)
            raise PermissionDeniedException("This route needs the admin credentials (ADMIN_BASIC_AUTH_*).")
        self.failures.record(address, scope["path"], 401)
        raise NotAuthorizedException(
            "Send valid HTTP Basic credentials (Authorization: Basic base64(user:password)).",
            headers={"WWW-Authenticate": REALM},
        )
