"""``deploy/``: the compose file, the nginx config and the Rasa endpoints hold
together: every name and port one file uses is one the others define, every
process has a health check on a ``/health`` it serves, every medbot variable is
a real, valid setting, and nginx itself accepts the config (when installed)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from bot.service.exposure import check_exposure
from bot.service.runtime import check_workers, endpoints_config
from bot.settings import PROJECT_ROOT, Settings

DEPLOY = PROJECT_ROOT / "deploy"
COMPOSE = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text(encoding="utf-8"))
SERVICES: dict[str, dict] = COMPOSE["services"]
NGINX_CONF = (DEPLOY / "nginx" / "medbot.conf").read_text(encoding="utf-8")
NGINX = "/usr/sbin/nginx"
# what an operator puts in deploy/.env (deploy/medbot.env.example)
OPERATOR_ENV = {"MEDBOT_POSTGRES_PASSWORD": "pg-password-for-tests",
                "MEDBOT_ACTION_SECRET": "a" * 24, "MEDBOT_REST_TOKEN": "r" * 24,
                "MEDBOT_ERASURE_KEY": "ab" * 32, "MEDBOT_ANCHOR_KEY": "cd" * 32,
                "MEDBOT_TLS_DIR": "/etc/medbot/tls"}
MEDBOT_SERVICES = sorted(n for n, s in SERVICES.items() if s.get("image", "").startswith("medbot"))
ROLE_MODULES = {"rasa": "components.rasa_server", "actions": "components.action_server",
                "scheduler": "worker"}


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ``${VAR}``, ``${VAR:-default}`` and ``${VAR:?message}``."""
    def one(match: re.Match) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3)
        if env.get(name):
            return env[name]
        if op == ":?":
            raise KeyError(f"{name}: {arg}")
        return arg or ""
    return re.sub(r"\$\{(\w+)(?:(:-|:\?)([^}]*))?\}", one, value)


def service_env(name: str, operator: dict[str, str] | None = None) -> dict[str, str]:
    env = SERVICES[name].get("environment") or {}
    return {key: interpolate(str(value), OPERATOR_ENV if operator is None else operator)
            for key, value in env.items()}


def role(name: str) -> str | None:
    command = " ".join(map(str, SERVICES[name].get("command") or []))
    return next((r for r, module in ROLE_MODULES.items() if module in command), None)


def listening_port(name: str) -> int:
    """The port a medbot service's process listens on, from its command."""
    command = [str(part) for part in SERVICES[name]["command"]]
    return int(command[command.index("--port") + 1])


def upstreams() -> dict[str, list[tuple[str, int]]]:
    found = {}
    for block, body in re.findall(r"upstream\s+(\w+)\s*\{([^}]*)\}", NGINX_CONF):
        found[block] = [(host, int(port)) for host, port in
                        re.findall(r"^\s*server\s+([\w.-]+):(\d+)", body, re.M)]
    return found


def test_every_dependency_is_a_service_and_servers_wait_for_the_migrations() -> None:
    for name, service in SERVICES.items():
        for needed, how in (service.get("depends_on") or {}).items():
            assert needed in SERVICES, f"{name} depends on unknown {needed}"
            assert how["condition"] in ("service_healthy", "service_completed_successfully")
            if how["condition"] == "service_healthy":
                assert "healthcheck" in SERVICES[needed], f"{needed} has no health check"
    for name in MEDBOT_SERVICES:
        if name != "migrate":
            assert SERVICES[name]["depends_on"]["migrate"] == {
                "condition": "service_completed_successfully"}


def test_every_role_runs_at_least_twice() -> None:
    roles = [role(name) for name in MEDBOT_SERVICES]
    for wanted in ROLE_MODULES:
        assert roles.count(wanted) >= 2, f"one {wanted} is a single point of failure"
    assert {"postgres", "redis", "nginx", "migrate"} <= set(SERVICES)


def test_every_process_has_a_health_check_on_its_own_health_endpoint() -> None:
    for name, service in SERVICES.items():
        if name == "migrate":
            assert "healthcheck" not in service  # a one-shot job
            continue
        check = " ".join(map(str, service["healthcheck"]["test"]))
        if role(name) is not None:
            assert f"http://127.0.0.1:{listening_port(name)}/health'" in check, name
    nginx_check = " ".join(SERVICES["nginx"]["healthcheck"]["test"])
    port, path = re.search(r"127\.0\.0\.1:(\d+)(/[\w-]+)", nginx_check).groups()
    assert re.search(rf"listen 127\.0\.0\.1:{port};\s*location = {path}", NGINX_CONF)


@pytest.mark.parametrize("name", MEDBOT_SERVICES)
def test_medbot_environment_is_valid_settings(name: str) -> None:
    env = service_env(name)
    declared = {v.name for v in Settings.variables()}
    assert set(env) <= declared, f"unknown variables: {set(env) - declared}"
    settings = Settings.from_env(env)
    check_exposure(settings)  # beyond loopback, with the token and the secret
    check_workers(settings)
    assert settings.is_postgresql and settings.redis_url
    assert settings.database_url.split("@", 1)[1].split(":")[0] in SERVICES
    assert settings.redis_url.split("//", 1)[1].split(":")[0] in SERVICES
    if role(name) == "rasa":
        assert settings.workers == 2 and settings.host == "0.0.0.0"
        assert settings.rasa_port == listening_port(name)
    if role(name) == "actions":
        assert settings.action_port == listening_port(name) and settings.action_secret
    if role(name) == "scheduler":
        assert settings.worker_port == listening_port(name)


def test_an_unset_secret_stops_compose() -> None:
    for missing in ("MEDBOT_ACTION_SECRET", "MEDBOT_REST_TOKEN", "MEDBOT_ERASURE_KEY"):
        operator = {k: v for k, v in OPERATOR_ENV.items() if k != missing}
        with pytest.raises(KeyError, match=missing):
            service_env("rasa1", operator)


def test_the_endpoints_file_is_what_medbot_run_writes(monkeypatch) -> None:
    """Rasa reads deploy/endpoints.yml with ${...} from the container's environment;
    the result is what ``medbot run`` would write for the same settings, and Rasa
    then runs the configured number of workers on it."""
    from rasa.core.utils import number_of_sanic_workers
    from rasa.utils.endpoints import read_endpoint_config

    env = service_env("rasa1")
    settings = Settings.from_env(env)
    raw = (DEPLOY / "endpoints.yml").read_text(encoding="utf-8")
    assert yaml.safe_load(interpolate(raw, env)) == endpoints_config(settings)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    lock_store = read_endpoint_config(str(DEPLOY / "endpoints.yml"), "lock_store")
    assert lock_store.type == "components.lock_store.AtomicRedisLockStore"
    assert lock_store.url in SERVICES
    monkeypatch.setenv("SANIC_WORKERS", str(settings.workers))
    assert number_of_sanic_workers(lock_store) == settings.workers == 2


def test_nginx_upstreams_are_the_compose_services_round_robin() -> None:
    found = upstreams()
    assert set(found) == {"medbot_rasa", "medbot_actions", "medbot_scheduler"}
    for block, module_role in (("medbot_rasa", "rasa"), ("medbot_actions", "actions"),
                               ("medbot_scheduler", "scheduler")):
        servers = found[block]
        assert {host for host, _ in servers} == {n for n in MEDBOT_SERVICES
                                                 if role(n) == module_role}
        for host, port in servers:
            assert port == listening_port(host), f"{block}: {host}:{port}"
    # not sticky: any worker of any instance serves any patient
    for directive in ("ip_hash", "hash ", "sticky", "random"):
        assert not re.search(rf"^\s*{directive}", NGINX_CONF, re.M), directive
    # the Rasa servers call the action servers through nginx's internal listener
    action_url = service_env("rasa1")["MEDBOT_ACTION_URL"]
    host, port = re.match(r"http://([\w-]+):(\d+)/webhook$", action_url).groups()
    assert host == "nginx" and re.search(rf"listen {port};\s*(#.*\n\s*)*proxy_http_version",
                                         NGINX_CONF)
    assert f"{port}:" not in " ".join(SERVICES["nginx"]["ports"])  # never published
    mounted = SERVICES["nginx"]["volumes"][0].split(":")[0]
    assert (DEPLOY / mounted).resolve() == DEPLOY / "nginx" / "medbot.conf"


@pytest.mark.skipif(not os.path.exists(NGINX),
                    reason=f"{NGINX} is absent: Debian's nginx is installed by "
                           "scripts/install_nginx.sh in the test set-up")
def test_nginx_accepts_the_config(tmp_path: Path) -> None:
    """``nginx -t`` on the config, with the compose hosts pointed at this machine
    (nginx resolves upstream names when it reads the file) and a throw-away
    certificate in place of the real one."""
    tls = tmp_path / "tls"
    tls.mkdir()
    _self_signed(tls / "fullchain.pem", tls / "privkey.pem")
    conf = NGINX_CONF.replace("/etc/nginx/tls", str(tls))
    for host, _ in (server for servers in upstreams().values() for server in servers):
        conf = conf.replace(f"server {host}:", "server 127.0.0.1:")
    (tmp_path / "nginx.conf").write_text(conf, encoding="utf-8")
    run = subprocess.run([NGINX, "-t", "-c", str(tmp_path / "nginx.conf"), "-p", str(tmp_path),
                          "-e", "stderr", "-g", f"pid {tmp_path / 'nginx.pid'};"],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert "test is successful" in run.stderr
    broken = conf.replace("proxy_pass http://medbot_rasa;", "proxy_pass http://medbot_rasa", 1)
    (tmp_path / "broken.conf").write_text(broken, encoding="utf-8")
    refused = subprocess.run([NGINX, "-t", "-c", str(tmp_path / "broken.conf"), "-p",
                              str(tmp_path), "-e", "stderr", "-g",
                              f"pid {tmp_path / 'nginx.pid'};"],
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0  # the check can fail


def _self_signed(cert_path: Path, key_path: Path) -> None:
    from datetime import datetime, timedelta, timezone

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "medbot.test")])
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)  # fixed: nginx -t does not check dates
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1)
            .not_valid_before(start).not_valid_after(start + timedelta(days=1))
            .sign(key, hashes.SHA256()))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))


def test_the_image_is_built_with_its_model() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    assert "medbot train" in dockerfile  # no training or download when a container starts
    assert "FROM python:3.10" in dockerfile
