"""Sign payload files and POST them to a running Sprint Wins, as Jira would."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import requests

from integrations.jira import signature


@dataclass(frozen=True)
class ReplayResult:
    path: Path
    status: int
    answer: str


def replay_files(
    files: list[Path],
    url: str,
    secret: str | None,
    *,
    echo: Callable[[str], None] = print,
    timeout: float = 10.0,
) -> list[ReplayResult]:
    results: list[ReplayResult] = []
    with requests.Session() as http:
        for index, path in enumerate(files, start=1):
            body = path.read_bytes()
            headers = {"Content-Type": "application/json"}
            if secret:
                headers["X-Hub-Signature"] = signature.sign(secret, body)
            try:
                response = http.post(url, data=body, headers=headers, timeout=timeout)
                status, answer = response.status_code, _summary(response)
            except requests.RequestException as error:
                status, answer = 0, f"no answer: {type(error).__name__}"
            results.append(ReplayResult(path, status, answer))
            echo(f"[{index}/{len(files)}] {path.name}: {status or 'error'} {answer}")
    return results


def _summary(response: requests.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(data, dict):
        return str(data.get("status") or data.get("error") or data)
    return str(data)[:200]
