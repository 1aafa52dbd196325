"""The launcher's own rules, without starting any app."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from devstack import APPS
from devstack import FREE_PORTS
from devstack import Stack
from devstack import StackError
from devstack.__main__ import banner
from devstack.__main__ import main
from devstack.__main__ import serve_stack
from devstack.stack import free_port
from devstack.stack import port_in_use


def test_default_ports_and_urls_are_the_documented_ones() -> None:
    stack = Stack()
    assert stack.urls == {
        "idp": "http://127.0.0.1:8001",
        "sf": "http://127.0.0.1:8002",
        "sf_tls": "https://127.0.0.1:8443",
        "portal": "http://127.0.0.1:8000",
    }


def test_zero_ports_become_distinct_free_ports(tmp_path: Path) -> None:
    stack = Stack(tmp_path, ports=FREE_PORTS)
    ports = set(stack.ports.values())
    assert len(ports) == len(APPS) and 0 not in ports
    assert not any(port_in_use(port) for port in ports)


def test_free_ports_are_never_repeated_and_never_ephemeral() -> None:
    # An ephemeral port can become an outgoing connection's source port before the server binds
    # it (CI once lost mock_sf's port that way); a repeat would give two servers one port.
    low, high = map(int, Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    ports = [free_port() for _ in range(50)]
    assert len(set(ports)) == len(ports)
    assert not any(low <= port <= high for port in ports)


def test_environment_tells_every_app_every_peer_and_its_own_folder(tmp_path: Path) -> None:
    stack = Stack(tmp_path, ports=FREE_PORTS, extra_env={"X_EXTRA": "1"})
    for app in APPS:
        assert stack.env[app.url_var] == stack.urls[app.name]
        assert stack.env[f"{app.prefix}_DEMO_CONTROLS"] == "1"
        assert stack.env[f"{app.prefix}_INSTANCE_PATH"] == str(tmp_path / app.package)
    assert stack.env["X_EXTRA"] == "1"
    assert stack.log_path("idp") == tmp_path / "logs" / "idp.log"


def test_without_root_apps_keep_their_own_instance_folders(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for app in APPS:
        monkeypatch.delenv(f"{app.prefix}_INSTANCE_PATH", raising=False)
        monkeypatch.delenv(f"{app.prefix}_DEMO_CONTROLS", raising=False)
    stack = Stack(demo=False)
    for app in APPS:
        assert f"{app.prefix}_INSTANCE_PATH" not in stack.env
        assert f"{app.prefix}_DEMO_CONTROLS" not in stack.env
    assert stack.log_dir == Path(__file__).resolve().parents[2] / "instance" / "logs"


def test_a_busy_port_is_refused_before_anything_starts(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        stack = Stack(tmp_path, ports={"portal": port, "idp": 0, "sf": 0})
        with pytest.raises(StackError, match=rf"portal: {port}.*another demo running"):
            stack.start()
    assert stack.processes == {}


def test_banner_prints_urls_and_demo_logins(tmp_path: Path) -> None:
    text = banner(Stack(tmp_path, ports=FREE_PORTS))
    for needle in ("ada@speakers.example", "ada-demo", "grace@speakers.example", "grace-demo"):
        assert needle in text
    assert "http://127.0.0.1:" in text and "Ctrl-C" in text


# --- make serve: gunicorn, settings from the environment -------------------------------------

SERVE_VARIABLES = (
    "SERVE_WORKERS",
    "SERVE_HOST",
    "SERVE_DEMO_CONTROLS",
    "PORTAL_PORT",
    "IDP_PORT",
    "SF_PORT",
    "SF_HTTPS_PORT",
)


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No make serve setting and no demo-controls switch leaks in from the caller's shell."""
    for name in SERVE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for app in APPS:
        monkeypatch.delenv(f"{app.prefix}_DEMO_CONTROLS", raising=False)
    return monkeypatch


def test_serve_defaults_are_gunicorn_with_two_workers_and_no_demo_controls(
    clean_environment: pytest.MonkeyPatch,
) -> None:
    stack = serve_stack({})

    assert (stack.server, stack.workers, stack.bind) == ("gunicorn", 2, "127.0.0.1")
    assert stack.ports == {"idp": 8001, "sf": 8002, "sf_tls": 8443, "portal": 8000}
    assert stack.demo and not stack.demo_controls
    assert not any(f"{app.prefix}_DEMO_CONTROLS" in stack.env for app in APPS)


def test_serve_settings_come_from_the_environment(clean_environment: pytest.MonkeyPatch) -> None:
    stack = serve_stack(
        {
            "SERVE_WORKERS": "3",
            "SERVE_HOST": "0.0.0.0",
            "SERVE_DEMO_CONTROLS": "1",
            "PORTAL_PORT": "9000",
            "IDP_PORT": "9001",
            "SF_PORT": "9002",
            "SF_HTTPS_PORT": "9443",
        }
    )

    assert (stack.workers, stack.bind, stack.demo_controls) == (3, "0.0.0.0", True)
    # Bound to every interface, the apps still name (and check) each other on loopback.
    assert stack.urls == {
        "idp": "http://127.0.0.1:9001",
        "sf": "http://127.0.0.1:9002",
        "sf_tls": "https://127.0.0.1:9443",
        "portal": "http://127.0.0.1:9000",
    }
    assert stack.env["IDP_DEMO_CONTROLS"] == "1"


@pytest.mark.parametrize(
    ("name", "value"), [("SERVE_WORKERS", "0"), ("SERVE_WORKERS", "two"), ("SF_PORT", "-1")]
)
def test_a_bad_serve_setting_is_refused_by_name(
    name: str, value: str, clean_environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    clean_environment.setenv(name, value)

    assert main(["--serve"]) == 2
    assert capsys.readouterr().err == (
        f"make serve: {name} must be a positive integer, not {value!r}\n"
    )


def test_gunicorn_serves_each_app_through_its_wsgi_entry(tmp_path: Path) -> None:
    stack = Stack(tmp_path, ports=FREE_PORTS, server="gunicorn", workers=3, bind="0.0.0.0")
    sf_tls = next(app for app in APPS if app.tls)

    command = stack.command(sf_tls)

    assert command[1:3] == ["-m", "gunicorn"]
    assert command[-1] == "mock_sf:create_app()"
    options = {flag: command[i + 1] for i, flag in enumerate(command[:-1]) if flag.startswith("--")}
    assert options["--bind"] == f"0.0.0.0:{stack.ports['sf_tls']}"
    assert options["--workers"] == "3"
    assert options["--worker-class"] == "sync"
    assert options["--certfile"] == str(stack.tls_file(sf_tls, "cert"))
    assert options["--keyfile"] == str(stack.tls_file(sf_tls, "key"))
    portal = next(app for app in APPS if app.name == "portal")
    assert stack.command(portal)[-1] == "portal:create_app()"
    assert "--certfile" not in stack.command(portal)


def test_the_development_server_stays_the_default(tmp_path: Path) -> None:
    stack = Stack(tmp_path, ports=FREE_PORTS)
    portal = next(app for app in APPS if app.name == "portal")

    assert stack.server == "flask"
    assert stack.command(portal)[1:6] == ["-m", "flask", "--app", "portal", "run"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"server": "uwsgi"}, "server must be one of flask, gunicorn, not 'uwsgi'"),
        ({"workers": 0}, "workers must be at least 1"),
    ],
)
def test_a_stack_refuses_a_server_it_cannot_run(
    tmp_path: Path, options: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=f"^{message}$"):
        Stack(tmp_path, ports=FREE_PORTS, **options)  # type: ignore[arg-type]


def test_the_serve_banner_says_gunicorn_and_whether_demo_controls_are_on(tmp_path: Path) -> None:
    stack = Stack(tmp_path, ports=FREE_PORTS, server="gunicorn", demo_controls=False)
    assert "under gunicorn, 2 workers per app, demo controls off" in banner(stack)


# --- one app stopped, started, restarted (the fault tests' outages) ---------------------------


def test_an_app_that_is_not_running_cannot_be_stopped(tmp_path: Path) -> None:
    stack = Stack(tmp_path, ports=FREE_PORTS)

    with pytest.raises(StackError, match="^sf is not running$"):
        stack.stop_app("sf")
    with pytest.raises(
        StackError, match=r"^no app called 'mock_sf' \(apps: idp, sf, sf_tls, portal\)$"
    ):
        stack.app("mock_sf")


def test_stopping_one_app_ends_its_process_and_leaves_the_others(tmp_path: Path) -> None:
    stack = Stack(tmp_path, ports=FREE_PORTS)
    for name in ("idp", "sf"):  # stand-ins that would run for a minute
        stack.processes[name] = subprocess.Popen(
            [sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True
        )
    sf, idp = stack.processes["sf"], stack.processes["idp"]
    try:
        with pytest.raises(StackError, match="^sf is already running$"):
            stack.start_app("sf")

        stack.stop_app("sf")

        assert sf.poll() is not None and idp.poll() is None
        assert list(stack.processes) == ["idp"]
    finally:
        stack.stop()
    assert idp.poll() is not None
