"""Appeal fixtures for search: the appeals conftest's submit helper, reused."""

from appeals.tests.conftest import _tasks_inline, submit  # noqa: F401
