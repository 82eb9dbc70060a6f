"""deploy/: the systemd units run the Procfile's commands, with the example environment's variables.

tests/deploy/test_deployment.py starts the Procfile for real (on PostgreSQL and Redis); these
checks keep the other example files saying the same thing, and run everywhere.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
VARIABLE = re.compile(r"\$\{(\w+)\}")


def _procfile() -> dict[str, str]:
    lines = DEPLOY.joinpath("Procfile").read_text(encoding="utf-8").splitlines()
    pairs = [line.split(":", 1) for line in lines if line.strip() and not line.startswith("#")]
    return {name.strip(): command.strip() for name, command in pairs}


def _unit_exec_start(name: str) -> str:
    text = DEPLOY.joinpath("systemd", f"minsheng-{name}.service").read_text(encoding="utf-8")
    (command,) = re.findall(r"^ExecStart=(.+)$", text, flags=re.MULTILINE)
    return command


def test_the_procfile_names_web_worker_and_one_beat() -> None:
    assert set(_procfile()) == {"web", "worker", "beat"}


def test_each_systemd_unit_runs_its_procfile_line_from_the_virtualenv() -> None:
    for name, command in _procfile().items():
        unit = shlex.split(_unit_exec_start(name))
        assert unit[0] == f"/opt/minsheng/.venv/bin/{shlex.split(command)[0]}"
        # systemd's %H and Celery's %h both stand for the host name (systemd's %h is a home).
        assert [a.replace("%H", "%h") for a in unit[1:]] == shlex.split(command)[1:], name


def test_the_example_environment_defines_every_variable_the_processes_use() -> None:
    example = DEPLOY.joinpath("minsheng.env.example").read_text(encoding="utf-8")
    defined = set(re.findall(r"^(\w+)=", example, flags=re.MULTILINE))
    used = {v for command in _procfile().values() for v in VARIABLE.findall(command)}
    assert used - defined == set()


def test_the_example_environment_is_production_behind_a_tls_proxy() -> None:
    example = DEPLOY.joinpath("minsheng.env.example").read_text(encoding="utf-8")
    values = dict(re.findall(r"^(\w+)=(.*)$", example, flags=re.MULTILINE))
    assert values["MINSHENG_ENV"] == "production"
    assert values["DATABASE_URL"].startswith("postgres://")
    assert values["REDIS_URL"].startswith("redis://")
    # Secrets come from files, never written into the environment file.
    assert {"SECRET_KEY", "MINSHENG_VAULT_KEYS", "MINSHENG_VAULT_INDEX_KEY"}.isdisjoint(values)


def test_nginx_proxies_to_the_port_the_web_process_listens_on_and_sets_the_trusted_headers() -> (
    None
):
    nginx = DEPLOY.joinpath("nginx", "minsheng.conf").read_text(encoding="utf-8")
    example = DEPLOY.joinpath("minsheng.env.example").read_text(encoding="utf-8")
    port = re.search(r"^MINSHENG_PORT=(\d+)$", example, flags=re.MULTILINE)
    assert port is not None and f"server 127.0.0.1:{port.group(1)};" in nginx
    for header in ("X-Forwarded-For $remote_addr", "X-Forwarded-Proto $scheme", "Host $host"):
        assert f"proxy_set_header {header};" in nginx
    assert "--trusted-proxy 127.0.0.1" in _procfile()["web"]
