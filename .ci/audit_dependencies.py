"""CI's dependency audit: pip-audit over the installed environment, judged for CI.

* a known vulnerability with a fixed version available fails the run (upgrade the pin);
* a known vulnerability without a fix yet is printed as a warning (nothing to upgrade to);
* when the vulnerability service (PyPI's JSON API / OSV) cannot be reached, or answers for none
  of the packages, the audit is reported as NOT DONE with a clear warning, and CI goes on:
  a closed network must not block a release, but nobody may read silence as a clean audit.

Usage: python .ci/audit_dependencies.py [--service pypi|osv] [--report FILE]
Exit status: 0 clean or not done, 1 fixable vulnerabilities found.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

# If more than this share of packages could not be looked up, the service did not really answer.
UNAUDITED_SHARE_LIMIT = 0.5


def run_pip_audit(service: str, output: Path) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable,
        "-m",
        "pip_audit",
        "--local",
        "--skip-editable",
        "--format",
        "json",
        "--progress-spinner",
        "off",
        "--vulnerability-service",
        service,
        "--timeout",
        "20",
        "--output",
        str(output),
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)


def judge(report: dict[str, Any]) -> tuple[list[str], list[str], str | None]:
    """(fixable findings, unfixable findings, reason the audit is not done or None)."""
    dependencies = report.get("dependencies", [])
    unaudited = [d for d in dependencies if d.get("skip_reason")]
    if not dependencies:
        return [], [], "pip-audit listed no packages"
    if len(unaudited) > UNAUDITED_SHARE_LIMIT * len(dependencies):
        example = unaudited[0].get("skip_reason", "")
        return [], [], f"{len(unaudited)} of {len(dependencies)} packages not looked up ({example})"
    fixable, unfixable = [], []
    for dep in dependencies:
        for vuln in dep.get("vulns", []):
            line = f"{dep['name']} {dep.get('version', '?')}: {vuln.get('id')}"
            if vuln.get("fix_versions"):
                fixable.append(f"{line} (fixed in {', '.join(vuln['fix_versions'])})")
            else:
                unfixable.append(f"{line} (no fixed version yet)")
    return fixable, unfixable, None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--service", default="osv", choices=["osv", "pypi"])
    parser.add_argument("--report", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        output = args.report or Path(tmp) / "pip-audit.json"
        try:
            done = run_pip_audit(args.service, output)
        except subprocess.TimeoutExpired:
            print("WARNING: dependency audit NOT DONE: pip-audit timed out")
            return 0
        try:
            report = json.loads(output.read_text())
        except (OSError, ValueError):
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            print("WARNING: dependency audit NOT DONE: the vulnerability service was unreachable")
            for line in tail:
                print(f"  {line}")
            return 0
    fixable, unfixable, not_done = judge(report)
    if not_done:
        print(f"WARNING: dependency audit NOT DONE ({args.service}): {not_done}")
        return 0
    for line in unfixable:
        print(f"WARNING: known vulnerability, no fix released: {line}")
    if fixable:
        print("Dependency audit FAILED: known vulnerabilities with a fix available:")
        for line in fixable:
            print(f"  {line}")
        return 1
    audited = sum(1 for d in report["dependencies"] if not d.get("skip_reason"))
    print(f"Dependency audit clean ({args.service}): {audited} packages, no fixable vulnerability")
    return 0


if __name__ == "__main__":
    sys.exit(main())
