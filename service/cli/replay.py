"""Sign payload files and POST them to a running Sprint Wins, as Jira would."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from integrations.jira import signature

_REASON_CHARS = 200


@dataclass(frozen=True)
class ReplayResult:
    path: Path
    status: int  # 0: no answer
    answer: str  # "accepted"/"duplicate" on success; otherwise why not

    @property
    def accepted(self) -> bool:
        return 200 <= self.status < 300


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
                status, answer = response.status_code, _answer(response)
            except requests.RequestException as error:
                status, answer = 0, f"no answer: {type(error).__name__}"
            result = ReplayResult(path, status, answer)
            results.append(result)
            echo(f"[{index}/{len(files)}] {path.name}: {describe(result)}")
    return results


def describe(result: ReplayResult) -> str:
    """The status once, then what the server said: ``202 accepted``, ``401 refused: <why>``."""
    if result.status == 0:
        return result.answer
    if result.accepted:
        return f"{result.status} {result.answer}".rstrip()
    return f"{result.status} refused: {result.answer}"


def _answer(response: requests.Response) -> str:
    try:
        data: Any = response.json()
    except ValueError:
        return response.text.strip()[:_REASON_CHARS] or response.reason or ""
    if not isinstance(data, dict):
        return str(data)[:_REASON_CHARS]
    if 200 <= response.status_code < 300:
        return str(data.get("status") or "")
    reason = str(data.get("error") or response.reason or "")
    if data.get("field"):
        reason += f" (field {data['field']})"
    problems = data.get("problems")
    if isinstance(problems, list) and problems:
        reason += ": " + "; ".join(str(p) for p in problems)
    return reason[:_REASON_CHARS]
