"""The launcher's own rules, without starting any app."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from devstack import APPS
from devstack import FREE_PORTS
from devstack import Stack
from devstack import StackError
from devstack.__main__ import banner
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
