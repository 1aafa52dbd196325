"""Start the three apps as separate processes, the same way for `make demo`, `make serve`, tests.

Two servers: Flask's development server (`make demo`, most tests) or gunicorn with several sync
workers (`make serve`, `make bench`), each app through its WSGI entry `<package>:create_app()`.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

HOST = "127.0.0.1"  # never "localhost": issuers must match byte for byte
READY_TIMEOUT = 30.0
SERVERS = ("flask", "gunicorn")
# Binding to every interface (IPv4): the apps still reach each other, and are checked, on loopback.
WILDCARDS = ("0.0.0.0", "")


@dataclass(frozen=True)
class App:
    """One process of the stack: its short name, Python package, env prefix and default port.

    A `tls` process serves its package over HTTPS from the package's own instance folder (same
    database), with the certificate its `tls-cert` command makes.
    """

    name: str
    package: str
    prefix: str
    port: int
    url_var: str
    tls: bool = False

    @property
    def scheme(self) -> str:
        return "https" if self.tls else "http"


# Start order: the providers first, so the portal's first click finds them up. Salesforce is
# HTTPS-only and some clients (simple-salesforce) always speak https, so mock_sf listens twice.
APPS: tuple[App, ...] = (
    App("idp", "mock_idp", "IDP", 8001, "IDP_URL"),
    App("sf", "mock_sf", "SF", 8002, "SF_URL"),
    App("sf_tls", "mock_sf", "SF", 8443, "SF_HTTPS_URL", tls=True),
    App("portal", "portal", "PORTAL", 8000, "PORTAL_URL"),
)
TLS_FILES = {"ca": "ca.pem", "cert": "server.pem", "key": "server-key.pem"}

# Every app on a port the kernel picks: what tests use, so they never clash with a running demo.
FREE_PORTS: dict[str, int] = {app.name: 0 for app in APPS}


def gunicorn_command(
    entry: str, host: str, port: str | int, workers: int, extra: list[str] | None = None
) -> list[str]:
    """gunicorn serving the WSGI `entry` ("package:create_app()") as the stack serves its apps."""
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        f"{host}:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        "sync",  # measured faster than gthread for these apps, with a far better p99
        "--graceful-timeout",
        "5",  # stop() waits 8 s before it kills
        "--no-control-socket",  # one default path (~/.gunicorn) for the four servers
        *(extra or []),
        entry,
    ]


class StackError(RuntimeError):
    """An app of the stack failed to initialise or to start."""


# Below Linux's ephemeral range (32768-60999): a port the kernel hands out for bind(0) is also a
# source port for any outgoing connection, so it can be taken again before the server binds it.
PORT_RANGE = range(20000, 32768)
_handed_out: set[int] = set()


def free_port() -> int:
    """A loopback port that is free now, outside the ephemeral range, never handed out twice."""
    for _ in range(200):
        port = random.choice(PORT_RANGE)
        if port in _handed_out:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((HOST, port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise StackError(f"no free port in {PORT_RANGE.start}-{PORT_RANGE.stop - 1}")


def port_in_use(port: int, host: str = HOST) -> bool:
    """Tell whether something already listens on the port (of loopback, or of `host`)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex((host, port)) == 0


class Stack:
    """Context manager that seeds and starts the three apps, and stops exactly what it started.

    With ``root`` each app gets its own instance folder under it (tests); without, the apps use
    their default instance folders (``make demo``), so a second run reuses what exists.
    A port of 0 means "any free port". ``demo`` seeds the demo org; ``demo_controls`` (default:
    as ``demo``) turns on the forge, outbox and other `/_demo` endpoints. ``server`` is "flask"
    (development server) or "gunicorn" with ``workers`` sync workers per app, bound to ``bind``.
    """

    def __init__(
        self,
        root: Path | None = None,
        *,
        ports: Mapping[str, int] | None = None,
        demo: bool = True,
        demo_controls: bool | None = None,
        extra_env: Mapping[str, str] | None = None,
        log_dir: Path | None = None,
        server: str = "flask",
        workers: int = 2,
        bind: str = HOST,
    ) -> None:
        if server not in SERVERS:
            raise ValueError(f"server must be one of {', '.join(SERVERS)}, not {server!r}")
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.server = server
        self.workers = workers
        self.bind = bind
        wanted = {app.name: app.port for app in APPS} | dict(ports or {})
        self.ports = {name: port or free_port() for name, port in wanted.items()}
        self.urls = {app.name: f"{app.scheme}://{self.host}:{self.ports[app.name]}" for app in APPS}
        self.root = root
        self.demo = demo
        self.demo_controls = demo if demo_controls is None else demo_controls
        self.instance_paths: dict[str, Path] = {}
        repo = Path(__file__).resolve().parent.parent
        for app in APPS:
            base = root if root is not None else repo / "instance"
            self.instance_paths[app.name] = base / app.package
        self.log_dir = log_dir or (root if root is not None else repo / "instance") / "logs"
        self.env = self._environment(extra_env or {})
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def _environment(self, extra: Mapping[str, str]) -> dict[str, str]:
        env = dict(os.environ)
        for app in APPS:
            env[app.url_var] = self.urls[app.name]
            if self.demo_controls:
                env[f"{app.prefix}_DEMO_CONTROLS"] = "1"
            if self.root is not None:
                env[f"{app.prefix}_INSTANCE_PATH"] = str(self.instance_paths[app.name])
        env.setdefault("PYTHONUNBUFFERED", "1")
        env.update(extra)
        return env

    @property
    def host(self) -> str:
        """The address in every URL: the bind address, or loopback when binding to all."""
        return HOST if self.bind in WILDCARDS else self.bind

    def tls_file(self, app: App, kind: str) -> Path:
        """The CA, server certificate or key that a TLS process serves (kind: ca, cert, key)."""
        return self.instance_paths[app.name] / TLS_FILES[kind]

    def log_path(self, name: str) -> Path:
        """Where an app's output goes."""
        return self.log_dir / f"{name}.log"

    def logs(self, tail: int = 200) -> dict[str, str]:
        """The last lines of each app's log, for failure reports."""
        out = {}
        for app in APPS:
            path = self.log_path(app.name)
            if path.exists():
                lines = path.read_text(errors="replace").splitlines()[-tail:]
                out[app.name] = "\n".join(lines)
        return out

    def __enter__(self) -> Stack:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Initialise each database, start each app, and wait for every /healthz."""
        busy = [
            f"{name}: {port}" for name, port in self.ports.items() if port_in_use(port, self.host)
        ]
        if busy:
            raise StackError(
                "ports already in use (" + ", ".join(busy) + "): is another demo running?"
            )
        self.log_dir.mkdir(parents=True, exist_ok=True)
        try:
            for app in APPS:
                self._init_db(app)
            for app in APPS:
                self._spawn(app)
            for app in APPS:
                self._wait_ready(app)
        except BaseException:
            self.stop()
            raise

    def _flask(self, app: App, *args: str) -> list[str]:
        return [sys.executable, "-m", "flask", "--app", app.package, *args]

    def _init_db(self, app: App) -> None:
        if app.tls:
            args = ["tls-cert"]
        else:
            args = ["init-db", "--demo"] if self.demo else ["init-db"]
        done = subprocess.run(
            self._flask(app, *args), env=self.env, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise StackError(
                f"{app.package} init-db failed ({done.returncode}):\n{done.stdout}{done.stderr}"
            )

    def command(self, app: App) -> list[str]:
        """The command line that serves `app` with this stack's server."""
        port = str(self.ports[app.name])
        cert, key = str(self.tls_file(app, "cert")), str(self.tls_file(app, "key"))
        if self.server == "flask":
            tls = ["--cert", cert, "--key", key] if app.tls else []
            return self._flask(app, "run", "--no-reload", "--host", self.bind, "--port", port, *tls)
        tls = ["--certfile", cert, "--keyfile", key] if app.tls else []
        return gunicorn_command(f"{app.package}:create_app()", self.bind, port, self.workers, tls)

    def _spawn(self, app: App) -> None:
        with self.log_path(app.name).open("ab") as log:
            # A new session: Ctrl-C reaches the launcher, which then stops each app in order.
            self.processes[app.name] = subprocess.Popen(
                self.command(app),
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def _wait_ready(self, app: App) -> None:
        url = f"{self.urls[app.name]}/healthz"
        context = ssl.create_default_context(cafile=self.tls_file(app, "ca")) if app.tls else None
        deadline = time.monotonic() + READY_TIMEOUT
        process = self.processes[app.name]
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise StackError(
                    f"{app.package} exited with {process.returncode}:\n"
                    + self.logs(40).get(app.name, "")
                )
            try:
                with urllib.request.urlopen(url, timeout=1, context=context) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.1)
        raise StackError(f"{app.package} did not answer {url} within {READY_TIMEOUT:.0f} s")

    def dead(self) -> list[str]:
        """Names of apps that have exited on their own."""
        return [name for name, proc in self.processes.items() if proc.poll() is not None]

    def stop(self) -> None:
        """Stop the processes this stack started, politely first."""
        _terminate(list(self.processes.values()))
        self.processes.clear()

    def stop_app(self, name: str) -> None:
        """Stop one running app as `stop` does; its folder and database stay (an outage)."""
        if name not in self.processes:
            raise StackError(f"{name} is not running")
        _terminate([self.processes.pop(name)])

    def start_app(self, name: str) -> None:
        """Start one stopped app again, on its port, and wait for its /healthz."""
        app = self.app(name)
        if name in self.processes:
            raise StackError(f"{name} is already running")
        try:
            self._spawn(app)
            self._wait_ready(app)
        except BaseException:
            if name in self.processes:
                _terminate([self.processes.pop(name)])
            raise

    def restart(self, name: str) -> None:
        """Stop one app and start it again (a deploy or a crash): a new process, same state."""
        self.stop_app(name)
        self.start_app(name)

    def app(self, name: str) -> App:
        """The app of the stack called `name`."""
        for app in APPS:
            if app.name == name:
                return app
        raise StackError(f"no app called {name!r} (apps: {', '.join(a.name for a in APPS)})")


def _terminate(processes: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM each process, wait, then SIGKILL the group of any that will not go."""
    for proc in processes:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in processes:
        try:
            proc.wait(timeout=8)  # gunicorn gives its workers 5 s to finish their requests
        except subprocess.TimeoutExpired:
            # Its own session: the group is the server and any workers it forked.
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
