from django.conf import settings
from django.urls import include, path, re_path
from django.views.static import serve

urlpatterns = [path("", include("catalog.urls"))]

if settings.SERVE_MEDIA:
    # In the lab Apache serves /media/; django.conf.urls.static.static() does nothing with DEBUG off, hence re_path.
    urlpatterns.append(re_path(r"^media/(?P<path>.*)$", serve, {"document_root": settings.MEDIA_ROOT}))
