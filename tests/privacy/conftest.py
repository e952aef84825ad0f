"""The privacy tests run on both backends, through the progress tests' pipeline."""

from __future__ import annotations

from tests.progress.conftest import progress_app as progress_app
