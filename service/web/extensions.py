"""Typed access to what the factory put in ``app.extensions``."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from flask import Flask

if TYPE_CHECKING:
    from jobs.runtime import Runtime

RUNTIME = "sprintwins.runtime"


def runtime_of(app: Flask) -> Runtime:
    return cast("Runtime", app.extensions[RUNTIME])
