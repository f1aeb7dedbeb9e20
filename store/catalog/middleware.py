import time

from django.conf import settings
from django.middleware.common import CommonMiddleware


class PostAppendSlashMiddleware(CommonMiddleware):
    """CommonMiddleware that never redirects a POST (or PUT, PATCH, DELETE) to the slash URL.

    Django raises this RuntimeError only with DEBUG on and redirects (301) otherwise; the lab's store answers 500
    to `POST /fruits`, and clients must meet that, so it is raised whatever DEBUG says.
    """

    def get_full_path_with_slash(self, request):
        if request.method in ("DELETE", "POST", "PUT", "PATCH"):
            raise RuntimeError(
                f"You called this URL via {request.method}, but the URL doesn't end in a slash and you have "
                f"APPEND_SLASH set. Django can't redirect to the slash URL while maintaining {request.method} data."
            )
        return super().get_full_path_with_slash(request)


class WriteDelayMiddleware:
    """Delays every POST by settings.WRITE_DELAY seconds: a slow store, for the tests that stop it mid-import."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method == "POST" and settings.WRITE_DELAY:
            time.sleep(settings.WRITE_DELAY)
        return self.get_response(request)
