from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.i18n import set_language

from minsheng import health
from minsheng.api import api

admin.site.site_header = "民声 minsheng 管理"
admin.site.site_title = "民声管理"

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("i18n/setlang/", set_language, name="set_language"),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("accounts/", include("accounts.urls")),
    path("open311/v2/", include("open311.urls")),
    path("workbench/audit/", include("audit.urls")),
    path("workbench/appeals/", include("appeals.urls_workbench")),
    path("workbench/kpi/", include("kpi.urls")),
    path("transparency/", include("kpi.urls_public")),
    path("appeals/", include("appeals.urls_portal")),
    path("surveys/", include("surveys.urls")),
    path("workbench/surveys/", include("surveys.urls_workbench")),
    path("consult/", include("consult.urls")),
    path("workbench/consult/", include("consult.urls_workbench")),
    path("exemplars/", include("exemplars.urls")),
    path("workbench/exemplars/", include("exemplars.urls_workbench")),
    path("grassroots/", include("grassroots.urls")),
    path("workbench/grassroots/", include("grassroots.urls_workbench")),
    path("integrity/", include("integrity.urls")),
    path("workbench/integrity/", include("integrity.urls_workbench")),
    path("powers/", include("powers.urls")),
    path("workbench/powers/", include("powers.urls_workbench")),
    path("workbench/opinion/", include("opinion.urls")),
    path("workbench/", include("workbench.urls")),
    path("", include("portal.urls")),
]

if settings.DEBUG:  # pragma: no cover - media only served by Django in development
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

handler400 = "minsheng.handlers.bad_request"
handler403 = "minsheng.handlers.permission_denied"
handler404 = "minsheng.handlers.page_not_found"
handler500 = "minsheng.handlers.server_error"
