"""How CI judges pip-audit's report (.ci/audit_dependencies.py): fixable fails, unfixable warns,
an unreachable or silent vulnerability service is "not done", never "clean"."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

SCRIPT = Path(__file__).resolve().parents[2] / ".ci" / "audit_dependencies.py"


def audit() -> ModuleType:
    spec = importlib.util.spec_from_file_location("audit_dependencies", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def dep(name: str, *vulns: dict[str, Any], skip: str | None = None) -> dict[str, Any]:
    if skip:
        return {"name": name, "skip_reason": skip}
    return {"name": name, "version": "1.0", "vulns": list(vulns)}


def test_a_vulnerability_with_a_fixed_version_fails_the_audit() -> None:
    report = {
        "dependencies": [dep("django", {"id": "PYSEC-1", "fix_versions": ["5.2.99"]}), dep("a")]
    }
    fixable, unfixable, not_done = audit().judge(report)
    assert fixable == ["django 1.0: PYSEC-1 (fixed in 5.2.99)"]
    assert unfixable == [] and not_done is None


def test_a_vulnerability_without_a_fix_is_a_warning_only() -> None:
    report = {"dependencies": [dep("lxml", {"id": "GHSA-x", "fix_versions": []}), dep("b")]}
    fixable, unfixable, not_done = audit().judge(report)
    assert fixable == [] and unfixable == ["lxml 1.0: GHSA-x (no fixed version yet)"]
    assert not_done is None


def test_a_service_that_answered_for_no_package_is_not_a_clean_audit() -> None:
    skipped = "Dependency not found on PyPI and could not be audited"
    report = {"dependencies": [dep("a", skip=skipped), dep("b", skip=skipped), dep("c")]}
    fixable, unfixable, not_done = audit().judge(report)
    assert fixable == [] and unfixable == []
    assert not_done is not None and "2 of 3 packages not looked up" in not_done
