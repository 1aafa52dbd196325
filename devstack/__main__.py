"""`python -m devstack` (`make demo`) and `python -m devstack --serve` (`make serve`).

Both seed the demo org, start the apps, check each /healthz and wait for Ctrl-C. `make demo` runs
Flask's development server with demo controls on; `make serve` runs gunicorn, demo controls off.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from collections.abc import Mapping

from devstack.stack import APPS
from devstack.stack import HOST
from devstack.stack import Stack
from devstack.stack import StackError

SF_TLS = next(app for app in APPS if app.tls)
DEMO_LOGINS = (
    ("Speaker linked to Salesforce", "ada@speakers.example", "ada-demo"),
    ("Speaker new to Salesforce", "grace@speakers.example", "grace-demo"),
    ("mock Salesforce Setup admin", "admin@sf.example", "admin-demo"),
)


# make serve's settings, read from the environment (documented in the README).
SERVE_SETTINGS = {
    "SERVE_WORKERS": "gunicorn sync workers per app (default 2)",
    "SERVE_HOST": f"the address every app binds (default {HOST}; 0.0.0.0 for all interfaces)",
    "PORTAL_PORT": "the portal's port (default 8000)",
    "IDP_PORT": "the mock IdP's port (default 8001)",
    "SF_PORT": "mock Salesforce's HTTP port (default 8002)",
    "SF_HTTPS_PORT": "mock Salesforce's HTTPS port (default 8443)",
    "SERVE_DEMO_CONTROLS": "1 turns the /_demo endpoints on (the forge make bench needs)",
}
PORT_VARIABLES = {
    "portal": "PORTAL_PORT",
    "idp": "IDP_PORT",
    "sf": "SF_PORT",
    "sf_tls": "SF_HTTPS_PORT",
}


class SettingError(ValueError):
    """A make serve setting has a value that cannot work."""


def serve_stack(environ: Mapping[str, str]) -> Stack:
    """The stack `make serve` runs: gunicorn, the demo org seeded, demo controls off by default."""
    ports = {name: _integer(environ, var, app_port(name)) for name, var in PORT_VARIABLES.items()}
    return Stack(
        ports=ports,
        demo=True,  # the demo logins work; the forge, outbox and resets do not
        demo_controls=environ.get("SERVE_DEMO_CONTROLS", "0") not in ("", "0", "false", "off"),
        server="gunicorn",
        workers=_integer(environ, "SERVE_WORKERS", 2),
        bind=environ.get("SERVE_HOST", HOST),
    )


def app_port(name: str) -> int:
    return next(app.port for app in APPS if app.name == name)


def _integer(environ: Mapping[str, str], name: str, default: int) -> int:
    text = environ.get(name, "").strip()
    if not text:
        return default
    if not text.isdigit() or int(text) < 1:
        raise SettingError(f"{name} must be a positive integer, not {text!r}")
    return int(text)


def banner(stack: Stack) -> str:
    """What a newcomer needs to start clicking."""
    if stack.server == "gunicorn":
        controls = "on" if stack.demo_controls else "off"
        title = (
            f"Speaker Portal is serving under gunicorn, {stack.workers} workers per app, "
            f"demo controls {controls} (Ctrl-C stops every process it started):"
        )
    else:
        title = "Speaker Portal demo is running (Ctrl-C stops every process it started):"
    lines = [
        "",
        title,
        f"  portal          {stack.urls['portal']}/",
        f"  flow inspector  {stack.urls['portal']}/inspector (the protocol steps of your login)",
        f"  mock IdP        {stack.urls['idp']}/",
        f"  mock Salesforce {stack.urls['sf']}/",
        f"                  {stack.urls['sf_tls']}/ (CA: {stack.tls_file(SF_TLS, 'ca')})",
        "",
        "Demo logins:",
    ]
    lines += [f"  {who:<30} {user:<24} {password}" for who, user, password in DEMO_LOGINS]
    lines += [
        "",
        "SAML login instead of OIDC: PORTAL_LOGIN_PROTOCOL=saml make demo",
        f"Logs: {stack.log_dir}/",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the demo (with --serve: production-mode) stack until interrupted or an app dies."""
    parser = argparse.ArgumentParser(prog="python -m devstack", description=__doc__)
    parser.add_argument(
        "--serve",
        action="store_true",
        help="gunicorn, demo controls off (make serve); settings: "
        + "; ".join(f"{name}: {what}" for name, what in SERVE_SETTINGS.items()),
    )
    args = parser.parse_args(argv)
    command = "make serve" if args.serve else "make demo"
    try:
        stack = serve_stack(os.environ) if args.serve else Stack()
    except SettingError as error:
        print(f"{command}: {error}", file=sys.stderr)
        return 2
    # Ctrl-C and `kill` both stop the apps, never orphan them. SIGINT is set explicitly because a
    # shell without job control starts background commands with it ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        stack.start()
        print(banner(stack), flush=True)
        while not (dead := stack.dead()):
            time.sleep(0.5)
        for name in dead:
            print(f"{name} stopped unexpectedly:\n{stack.logs(30).get(name, '')}", file=sys.stderr)
        return 1
    except StackError as error:
        print(f"{command}: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nStopping…", flush=True)
        return 0
    finally:
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
