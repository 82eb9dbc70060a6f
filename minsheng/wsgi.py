import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "minsheng.settings")
_django = get_wsgi_application()

from minsheng.fastpath import FastVotes, WSGIApp  # noqa: E402  (after Django is set up)
from minsheng.fastpath_appeals import FastAppeals  # noqa: E402
from minsheng.fastpath_surveys import FastSurveys  # noqa: E402

# The hot writes' fast paths in front of the full stack, each passing on what is not its own:
# the exemplar vote (minsheng/fastpath.py), the anonymous survey response
# (minsheng/fastpath_surveys.py), the anonymous appeal submission (minsheng/fastpath_appeals.py).
application: WSGIApp = FastAppeals(FastSurveys(FastVotes(_django)))
