.PHONY: lint test fmt
lint:
	.venv/bin/ruff check . && .venv/bin/mypy .
fmt:
	.venv/bin/ruff format . && .venv/bin/ruff check --fix .
test:
	.venv/bin/python -m pytest
