"""Load a handler class from a handler record's import path (``package.module:Class``)."""

from __future__ import annotations

import importlib
from functools import lru_cache

from mock_sf.handlers.base import TokenExchangeHandler


class HandlerLoadError(LookupError):
    """The import path does not name a TokenExchangeHandler subclass."""


@lru_cache(maxsize=64)
def load_handler_class(import_path: str) -> type[TokenExchangeHandler]:
    """Import and return the handler class; cached because imports are per process anyway."""
    module_name, _, class_name = import_path.partition(":")
    if not module_name or not class_name:
        raise HandlerLoadError(f"{import_path!r} is not of the form 'package.module:Class'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise HandlerLoadError(f"cannot import {module_name!r}: {exc}") from exc
    cls = getattr(module, class_name, None)
    if not (isinstance(cls, type) and issubclass(cls, TokenExchangeHandler)):
        raise HandlerLoadError(f"{import_path!r} is not a TokenExchangeHandler subclass")
    return cls
