"""`python -m devstack` (what `make demo` runs): seed, start the three apps, wait for Ctrl-C."""

from __future__ import annotations

import signal
import sys
import time

from devstack.stack import APPS
from devstack.stack import Stack
from devstack.stack import StackError

SF_TLS = next(app for app in APPS if app.tls)
DEMO_LOGINS = (
    ("Speaker linked to Salesforce", "ada@speakers.example", "ada-demo"),
    ("Speaker new to Salesforce", "grace@speakers.example", "grace-demo"),
    ("mock Salesforce Setup admin", "admin@sf.example", "admin-demo"),
)


def banner(stack: Stack) -> str:
    """What a newcomer needs to start clicking."""
    lines = [
        "",
        "Speaker Portal demo is running (Ctrl-C stops every process it started):",
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


def main() -> int:
    """Run the demo stack until interrupted or until an app dies."""
    # Ctrl-C and `kill` both stop the apps, never orphan them. SIGINT is set explicitly because a
    # shell without job control starts background commands with it ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    stack = Stack()
    try:
        stack.start()
        print(banner(stack), flush=True)
        while not (dead := stack.dead()):
            time.sleep(0.5)
        for name in dead:
            print(f"{name} stopped unexpectedly:\n{stack.logs(30).get(name, '')}", file=sys.stderr)
        return 1
    except StackError as error:
        print(f"make demo: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nStopping…", flush=True)
        return 0
    finally:
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
