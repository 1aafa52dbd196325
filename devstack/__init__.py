"""The launcher: starts portal, mock IdP and mock Salesforce as three processes (make demo, e2e)."""

from devstack.stack import APPS
from devstack.stack import FREE_PORTS
from devstack.stack import App
from devstack.stack import Stack
from devstack.stack import StackError

__all__ = ["APPS", "FREE_PORTS", "App", "Stack", "StackError"]
