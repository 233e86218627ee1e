"""A small client of MLflow's REST API (``/api/2.0/mlflow/…``), every request through mlgov's
egress guard (apps.core.egress): the tracking server's address is checked, the connection is
pinned to it, answers are capped in size and time, redirects are refused.

Only what a registry sync reads: registered models and their versions (paged by page
tokens), runs, metric histories, and the artifacts behind a version (listed and downloaded
through the tracking server's artifact proxy, ``mlflow-artifacts:/``, or a run's artifact
endpoints). No ORM, no settings beyond the egress guard's; every failure raises
``MlflowError`` with a message that names the server, the call and what went wrong.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from apps.core import egress
from apps.core.errors import ApplicationError

USER_AGENT = "mlgov-mlflow-sync/1"
#: Largest JSON answer read (a page of 1,000 registered models with their tags).
MAX_JSON_BYTES = 64 * 1024 * 1024
#: Page sizes asked for: MLflow caps registered-model search at 1,000 per page.
MODELS_PAGE = 1000
VERSIONS_PAGE = 10000
HISTORY_PAGE = 25000
EXPERIMENTS_PAGE = 1000
#: Runs read by one search (``attributes.run_id IN (…)``).
RUNS_PER_SEARCH = 100


class MlflowError(ApplicationError):
    """A call to the tracking server failed; ``retryable`` when trying later may help."""

    def __init__(self, message: str, *, retryable: bool = False, status: int | None = None):
        super().__init__(message)
        self.retryable = retryable
        self.status = status


@dataclass(frozen=True)
class Credential:
    """What the environment variable named by a connection holds: a bearer token, or
    ``user:password`` for HTTP basic authentication."""

    value: str

    def header(self) -> dict[str, str]:
        if not self.value:
            return {}
        if ":" in self.value:
            raw = base64.b64encode(self.value.encode()).decode("ascii")
            return {"Authorization": f"Basic {raw}"}
        return {"Authorization": f"Bearer {self.value}"}


def _error_text(body: bytes) -> str:
    """MLflow answers errors as ``{"error_code": …, "message": …}``; fall back to the text."""
    try:
        data = json.loads(body)
    except ValueError:
        return body[:200].decode("utf-8", "replace").strip()
    if isinstance(data, dict):
        code = data.get("error_code", "")
        message = str(data.get("message", ""))[:300]
        return f"{code}: {message}" if code else message
    return ""


class MlflowClient:
    """Calls to one tracking server (``base_url``: scheme, host, port and any path prefix)."""

    def __init__(self, base_url: str, *, credential: Credential | None = None, timeout: float):
        self.base_url = base_url.rstrip("/")
        self.headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        if credential is not None:
            self.headers.update(credential.header())
        self.timeout = timeout

    # --- transport -----------------------------------------------------------------------

    def _send(
        self, method: str, path: str, *, params=None, body=None, max_bytes: int = MAX_JSON_BYTES
    ) -> bytes:
        url = f"{self.base_url}{path}"
        if params:
            url += "?" + urlencode(params, doseq=True)
        headers = dict(self.headers)
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            response = egress.request(
                method, url, body=data, headers=headers, timeout=self.timeout, max_bytes=max_bytes
            )
        except egress.EgressError as exc:
            raise MlflowError(
                f"MLflow at {self.base_url} ({path}): {exc.message}", retryable=exc.retryable
            ) from exc
        if response.status in (401, 403):
            raise MlflowError(
                f"MLflow at {self.base_url} refused the credential ({response.status} "
                f"{response.reason}) on {path}; check the connection's credential variable.",
                status=response.status,
            )
        if response.status != 200:
            detail = _error_text(response.body)
            raise MlflowError(
                f"MLflow at {self.base_url} answered {response.status} {response.reason} on "
                f"{path}" + (f": {detail}" if detail else "."),
                retryable=response.status >= 500 or response.status == 429,
                status=response.status,
            )
        return response.body

    def _json(self, method: str, path: str, **kwargs) -> dict[str, Any]:
        body = self._send(method, path, **kwargs)
        try:
            data = json.loads(body) if body else {}
        except ValueError as exc:
            raise MlflowError(
                f"MLflow at {self.base_url} answered {path} with something that is not JSON; "
                "is the tracking URL right?"
            ) from exc
        if not isinstance(data, dict):
            raise MlflowError(f"MLflow at {self.base_url} answered {path} with unexpected JSON.")
        return data

    def _pages(self, path: str, key: str, params: dict[str, Any]) -> Iterator[dict]:
        """Every item of a paged search, following ``next_page_token``."""
        token = ""
        seen_tokens: set[str] = set()
        while True:
            page = self._json(
                "GET", path, params={**params, **({"page_token": token} if token else {})}
            )
            yield from page.get(key) or []
            token = page.get("next_page_token") or ""
            if not token:
                return
            if token in seen_tokens:
                raise MlflowError(f"MLflow at {self.base_url} repeated a page token on {path}.")
            seen_tokens.add(token)

    # --- the registry ----------------------------------------------------------------------

    def registered_models(self, *, filter_string: str = "") -> Iterator[dict]:
        params: dict[str, Any] = {"max_results": MODELS_PAGE}
        if filter_string:
            params["filter"] = filter_string
        return self._pages("/api/2.0/mlflow/registered-models/search", "registered_models", params)

    def model_versions(self, *, filter_string: str = "") -> Iterator[dict]:
        params: dict[str, Any] = {"max_results": VERSIONS_PAGE}
        if filter_string:
            params["filter"] = filter_string
        return self._pages("/api/2.0/mlflow/model-versions/search", "model_versions", params)

    def download_uri(self, *, name: str, version: str) -> str:
        data = self._json(
            "GET",
            "/api/2.0/mlflow/model-versions/get-download-uri",
            params={"name": name, "version": version},
        )
        return str(data.get("artifact_uri") or "")

    # --- runs ------------------------------------------------------------------------------

    def run(self, run_id: str) -> dict[str, Any]:
        return (
            self._json("GET", "/api/2.0/mlflow/runs/get", params={"run_id": run_id}).get("run")
            or {}
        )

    def experiment_ids(self) -> list[str]:
        """Every experiment's id, deleted ones too (a version's run may be in one)."""
        return [
            str(e["experiment_id"])
            for e in self._pages(
                "/api/2.0/mlflow/experiments/search",
                "experiments",
                {"max_results": EXPERIMENTS_PAGE, "view_type": "ALL"},
            )
        ]

    def runs(self, run_ids: list[str], *, experiment_ids: list[str]) -> dict[str, dict[str, Any]]:
        """The runs named (at most ``RUNS_PER_SEARCH``) by id, in one search; a run MLflow does
        not have is left out."""
        quoted = ", ".join("'" + run_id.replace("'", "") + "'" for run_id in run_ids)
        body = {
            "experiment_ids": experiment_ids,
            "filter": f"attributes.run_id IN ({quoted})",
            "run_view_type": "ALL",
            "max_results": max(len(run_ids), 1),
        }
        data = self._json("POST", "/api/2.0/mlflow/runs/search", body=body)
        return {str(run.get("info", {}).get("run_id")): run for run in data.get("runs") or ()}

    def metric_history(self, *, run_id: str, key: str) -> list[dict]:
        return list(
            self._pages(
                "/api/2.0/mlflow/metrics/get-history",
                "metrics",
                {"run_id": run_id, "metric_key": key, "max_results": HISTORY_PAGE},
            )
        )

    # --- artifacts -------------------------------------------------------------------------

    def artifact_files(self, uri: str) -> Iterator[tuple[str, int]]:
        """``(relative path, size)`` of every file under a ``mlflow-artifacts:/`` or
        ``runs:/`` URI, depth first. Other schemes are not reachable through the server."""
        root = ArtifactRoot.parse(uri)
        pending = [""]
        while pending:
            sub = pending.pop()
            for item in self._list(root, sub):
                path = item.get("path", "")
                # The proxy lists paths relative to the listed directory; the run endpoint
                # relative to the run's root: both end in the entry's own name.
                name = path.rsplit("/", 1)[-1]
                child = f"{sub}/{name}" if sub else name
                if item.get("is_dir"):
                    pending.append(child)
                else:
                    yield child, int(item.get("file_size") or 0)

    def _list(self, root: ArtifactRoot, sub: str) -> list[dict]:
        if root.run_id:
            path = "/".join(p for p in (root.path, sub) if p)
            params = {"run_id": root.run_id, "path": path}
            return list(self._pages("/api/2.0/mlflow/artifacts/list", "files", params))
        path = "/".join(p for p in (root.path, sub) if p)
        data = self._json("GET", "/api/2.0/mlflow-artifacts/artifacts", params={"path": path})
        return data.get("files") or []

    def artifact_bytes(self, uri: str, relative: str, *, max_bytes: int) -> bytes:
        root = ArtifactRoot.parse(uri)
        path = "/".join(p for p in (root.path, relative) if p)
        if root.run_id:
            return self._send(
                "GET",
                "/get-artifact",
                params={"run_id": root.run_id, "path": path},
                max_bytes=max_bytes,
            )
        return self._send(
            "GET", f"/api/2.0/mlflow-artifacts/artifacts/{quote(path)}", max_bytes=max_bytes
        )


@dataclass(frozen=True)
class ArtifactRoot:
    """Where a version's files are read through the tracking server: the artifact proxy
    (``mlflow-artifacts:/path``) or a run's artifacts (``runs:/<run id>/path``)."""

    path: str
    run_id: str = ""

    @staticmethod
    def readable(uri: str) -> bool:
        return uri.startswith(("mlflow-artifacts:", "runs:/"))

    @classmethod
    def parse(cls, uri: str) -> ArtifactRoot:
        parts = urlsplit(uri)
        if parts.scheme == "runs":
            run_id, _, path = (parts.netloc + parts.path).lstrip("/").partition("/")
            return cls(path=path.strip("/"), run_id=run_id)
        if parts.scheme == "mlflow-artifacts":
            # mlflow-artifacts:/0/abc/artifacts/model, or with a host: the path only counts.
            return cls(path=parts.path.strip("/"))
        raise MlflowError(f"{uri} is not readable through the tracking server.")
