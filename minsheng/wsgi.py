import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "minsheng.settings")
_django = get_wsgi_application()

from minsheng.fastpath import FastVotes  # noqa: E402  (after Django is set up)

# The exemplar vote's fast path in front of the full stack (minsheng/fastpath.py).
application = FastVotes(_django)
