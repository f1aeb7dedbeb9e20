"""Optional API authentication from the environment (FRUITSTORE_STORE_TOKEN, FRUITSTORE_STORE_BASIC_AUTH)."""
import base64
import binascii
import hmac

from django.conf import settings
from rest_framework import authentication, exceptions, permissions


def _header(request, scheme):
    """The credentials after `scheme` in the Authorization header, or None if another scheme (or none) is used."""
    parts = authentication.get_authorization_header(request).split(None, 1)
    if len(parts) != 2 or parts[0].lower() != scheme.lower().encode():
        return None
    return parts[1].strip()


class EnvTokenAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        given = _header(request, "Token")
        if given is None:
            return None
        if not hmac.compare_digest(given, settings.STORE_TOKEN.encode()):
            raise exceptions.AuthenticationFailed("Invalid token.")
        return ("token", given)

    def authenticate_header(self, request):
        return "Token"


class EnvBasicAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        given = _header(request, "Basic")
        if given is None:
            return None
        try:
            given = base64.b64decode(given, validate=True)
        except (binascii.Error, ValueError):
            raise exceptions.AuthenticationFailed("Invalid basic header.")
        if not hmac.compare_digest(given, settings.STORE_BASIC_AUTH.encode()):
            raise exceptions.AuthenticationFailed("Invalid username/password.")
        return ("basic", given)

    def authenticate_header(self, request):
        return 'Basic realm="fruitstore"'


class AuthenticatedIfConfigured(permissions.BasePermission):
    """Open when no authenticator is configured; otherwise one of them must have succeeded (else 401)."""

    def has_permission(self, request, view):
        return not request.authenticators or request.successful_authenticator is not None
