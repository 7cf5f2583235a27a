"""HTTP Basic auth on every route except the public ones (constant-time comparison)."""

from __future__ import annotations

import base64
import binascii
import hmac

from litestar.exceptions import NotAuthorizedException
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

PUBLIC_PATH_PREFIXES = ("/health", "/docs")
REALM = 'Basic realm="mysanta-recommendations", charset="UTF-8"'


def credentials_match(header_value: str | None, username: str, password: str) -> bool:
    """True when an `Authorization: Basic ...` value carries exactly these credentials."""
    if not header_value:
        return False
    scheme, _, encoded = header_value.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return False
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    given_user, separator, given_password = decoded.partition(b":")
    # Both comparisons always run, so timing does not tell which half was wrong.
    user_ok = hmac.compare_digest(given_user, username.encode())
    password_ok = hmac.compare_digest(given_password, password.encode())
    return bool(separator) and user_ok and password_ok


def _is_public(scope: Scope) -> bool:
    path: str = scope["path"]
    return any(path == prefix or path.startswith(prefix + "/") for prefix in PUBLIC_PATH_PREFIXES)


class BasicAuthMiddleware(ASGIMiddleware):
    """Rejects a request without the configured credentials (401, problem+json by the app's handlers)."""

    should_bypass_for_scope = staticmethod(_is_public)

    def __init__(self, username: str, password: str) -> None:
        self.username = username
        self.password = password

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        """Pass authenticated requests on; answer the others here."""
        header = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                header = value.decode("latin-1")
                break
        if credentials_match(header, self.username, self.password):
            await next_app(scope, receive, send)
            return
        raise NotAuthorizedException(
            "Send valid HTTP Basic credentials (Authorization: Basic base64(user:password)).",
            headers={"WWW-Authenticate": REALM},
        )
