"""Until the lead mounts ``sources.api.router`` at ``/api/opinion/`` in minsheng/api.py, the push
tests reach it through this URLconf: the real URLs plus an API with the same error handlers."""

from __future__ import annotations

from django.urls import path
from ninja import NinjaAPI

from minsheng.api import api as main_api
from minsheng.urls import urlpatterns as real_urlpatterns

push_api = NinjaAPI(urls_namespace="sources_push_test", docs_url=None, openapi_url=None)
push_api._exception_handlers = dict(main_api._exception_handlers)  # the same {code,message,detail}
push_api.add_router("/opinion/", "sources.api.router")

urlpatterns = [path("api/", push_api.urls), *real_urlpatterns]
