#!/usr/bin/env python3
"""Check a running Code Ocean server (normally the local simulator) against openapi/codeocean.yaml
with schemathesis: every operation of the spec is exercised with generated requests, and every
response is checked (`--checks all`): status code documented, content type documented, body valid
against the response schema, no 5xx, schema-valid requests accepted and invalid ones rejected,
requests without credentials refused, and so on.

Two schemathesis passes run:

1. "known ids": path parameters are pinned to objects that exist (a capsule and the pipeline of
   the catalogue, a finished computation with results, a ready data asset, a file of the results
   and of the built-in data asset, release jobs, a cloud workstation session), so that the
   generated requests reach the success paths and the 2XX response schemas get validated. Every
   DELETE gets its own sacrificial object (a computation, copies of the capsule and the pipeline,
   a data asset) so that it does not pull the others away; the transfer gets its own asset.
2. "generated ids": everything generated, ids included; this mostly exercises the error paths
   (unknown objects, malformed bodies and queries).

Usage:
    conformance.py [--url http://127.0.0.1:PORT] [--token TOKEN] [--max-examples N] [--seed N]

The URL (the origin, with or without /api/v1) and the token default to $CODEOCEAN_DOMAIN and
$CODEOCEAN_TOKEN. schemathesis must be installed beside this interpreter (the CI virtualenv). The
run writes nothing into the working tree: schemathesis runs in a temporary directory. Exits
non-zero when schemathesis reports any failure.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
import yaml

REPO = Path(__file__).resolve().parents[2]
SPEC = REPO / "openapi" / "codeocean.yaml"

CAPSULE_OK = "c0ffee00-0000-4000-8000-000000000001"
CAPSULE_FAILS = "c0ffee00-0000-4000-8000-000000000002"
PIPELINE = "c0ffee00-0000-4000-8000-00000000000a"
INPUT_ASSET = "da7a0000-0000-4000-8000-000000000001"


def setup(api: str, token: str) -> dict[str, str]:
    """Creates the objects the "known ids" pass points at; returns their ids."""
    s = requests.Session()
    s.auth = (token, "")

    def call(method: str, path: str, **kw) -> requests.Response:
        res = s.request(method, f"{api}{path}", timeout=30, **kw)
        if res.status_code >= 300:
            sys.exit(f"conformance setup: {method} {path}: HTTP {res.status_code}: {res.text[:300]}")
        return res

    def run() -> str:
        return call("POST", "/computations", json={
            "capsule_id": CAPSULE_OK,
            "data_assets": [{"id": INPUT_ASSET, "mount": "reference"}],
        }).json()["id"]

    def poll(path: str, done) -> dict:
        deadline = time.monotonic() + 60
        while True:
            body = call("GET", path).json()
            if done(body):
                return body
            if time.monotonic() > deadline:
                sys.exit(f"conformance setup: {path} did not finish in 60 s: {body}")
            time.sleep(0.05)

    comp, sacrificial = run(), run()
    finished = poll(f"/computations/{comp}", lambda c: c.get("state") in ("completed", "failed"))
    if finished.get("end_status") != "succeeded":
        sys.exit(f"conformance setup: run {comp} did not succeed: {finished}")
    poll(f"/computations/{sacrificial}", lambda c: c.get("state") in ("completed", "failed"))
    root = call("POST", f"/computations/{comp}/results", json={"path": ""}).json()["items"]
    file = next(i["path"] for i in root if i["type"] == "file")
    asset = call("POST", "/data_assets", json={
        "name": "conformance", "mount": "conformance", "tags": ["conformance"],
        "source": {"computation": {"id": comp}},
    }).json()["id"]
    poll(f"/data_assets/{asset}", lambda a: a.get("state") in ("ready", "failed"))
    # A finished pipeline run, so that the pipeline meets the release requirements.
    pipe = call("POST", "/computations", json={"pipeline_id": PIPELINE}).json()["id"]
    poll(f"/computations/{pipe}", lambda c: c.get("state") in ("completed", "failed"))
    capsule_job = call("POST", f"/capsules/{CAPSULE_OK}/release").json()["job_id"]
    pipeline_job = call("POST", f"/pipelines/{PIPELINE}/release").json()["job_id"]
    # What the API cannot make comes from the simulator's admin routes: copies to delete, a
    # cloud workstation session to attach data assets to, assets to delete and to transfer.
    admin = api.removesuffix("/api/v1") + "/__sim"

    def admin_post(path: str, body: dict) -> dict:
        res = requests.post(f"{admin}{path}", json=body, timeout=30)
        if res.status_code != 200:
            sys.exit(f"conformance setup: admin {path}: HTTP {res.status_code}: {res.text[:300]}")
        return res.json()

    capsule_copy = admin_post(f"/capsules/{CAPSULE_OK}/copies", {"count": 1})["ids"][0]
    pipeline_copy = admin_post(f"/capsules/{PIPELINE}/copies", {"count": 1})["ids"][0]
    session = admin_post("/cloud_workstations", {"capsule_id": CAPSULE_OK})["id"]
    asset_to_delete, asset_to_transfer = admin_post("/data_assets", {"count": 2})["ids"]
    return {"capsule": CAPSULE_OK, "computation": comp, "sacrificial": sacrificial,
            "data_asset": asset, "file": file, "pipeline": PIPELINE,
            "capsule_copy": capsule_copy, "pipeline_copy": pipeline_copy,
            "capsule_job": capsule_job, "pipeline_job": pipeline_job, "session": session,
            "asset_to_delete": asset_to_delete, "asset_to_transfer": asset_to_transfer}


# Settings of both passes. Each departure from schemathesis' defaults is explained here.
COMMON_CONFIG = """\
# No on-disk state (schemathesis' project cache): a run must not depend on, nor leave behind,
# earlier runs' findings.
[cache]
enabled = false

# Negative tests must violate the spec, not merely add to it. By default schemathesis also counts
# a request with undeclared query parameters or headers as "schema-violating" and expects it
# refused; OpenAPI does not forbid them, servers ignore them, and the official SDK itself sends
# headers the spec does not declare (Min-Server-Version, Agent-Id), so a server must accept them.
[generation]
allow-extra-parameters = false

# The stateful phase sends valid requests only; schema-violating ones are sent by the coverage and
# fuzzing phases, over every operation. In the stateful phase schemathesis reports negative
# requests it did not send: values taken from a link and the `--auth` header replace what it
# mutated, so a valid request is answered 200 and called "schema-violating request accepted"
# (seen here once in several runs: a POST /computations with a valid body and Authorization,
# reported as sent without Authorization and with random bytes; schemathesis issues #2983, #3355,
# #3367).
[phases.stateful.generation]
mode = "positive"
"""

# A schema-valid body may still name objects that do not exist or do not fit (a capsule, pipeline,
# data asset or source computation that is unknown or unfinished, a version out of range, a
# parameter name the capsule does not declare, processes for a capsule): referential validity that
# a JSON schema cannot express. The server answers such bodies 400 (or 404) naming the field, which
# is right; schemathesis' positive_data_acceptance would call every one a failure. So for the
# operations listed below (references, and the other reasons given there), 400 is an accepted
# answer to a schema-valid request. Every other operation keeps the default (2xx, 3xx, 401, 403,
# 404, 409, 429, 5xx).
ACCEPT_400 = {
    "checks.positive_data_acceptance.expected-statuses":
        ["2xx", "3xx", "400", "401", "403", "404", "409", "429", "5xx"],
}
# The operations whose schema-valid requests may still be refused with 400, and why:
# - run_computation, create_data_asset: references, as above;
# - attach_*_data_assets: the ids of data assets to attach (unknown ones are refused), and
#   mounts already taken by another attached asset; detach_*_data_assets: ids that are not
#   attached; on a computation, one that is not a running cloud workstation session;
# - search_*: `sort_order` only together with `sort_field` (a dependency between fields that
#   OpenAPI 3.0 cannot state), and `next_token`, which must be a token the search returned. The
#   bounds of `limit` (1 to 1000) and `offset` (not negative) are in the schema, so a request
#   outside them is not schema-valid and is expected to be refused;
# - transfer_data_asset: an asset that released pipelines use moves only with `force`, and only a
#   ready asset moves;
# - update_*_permissions: the owner's own role cannot change;
# - release_*: the spec says so for a capsule or pipeline never released (the first release is
#   made in the app);
# - sync_*: a capsule or pipeline not linked to an external Git repository has nothing to sync;
# - list_data_asset_files, get_data_asset_file_*: an external asset (the generated-ids pass finds
#   the one the known-ids pass transferred) has no files in Code Ocean.
MAY_REFUSE_VALID = (
    "run_computation", "create_data_asset",
    "attach_capsule_data_assets", "attach_pipeline_data_assets", "attach_computation_data_assets",
    "detach_capsule_data_assets", "detach_pipeline_data_assets", "detach_computation_data_assets",
    "search_capsules", "search_pipelines", "search_data_assets",
    "transfer_data_asset",
    "update_capsule_permissions", "update_pipeline_permissions", "update_data_asset_permissions",
    "release_capsule", "release_pipeline", "sync_capsule", "sync_pipeline",
    "list_data_asset_files", "get_data_asset_file_urls", "get_data_asset_file_download_url",
)


def toml_value(v) -> str:
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {toml_value(x)}" for k, x in v.items()) + " }"
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, float):
        return repr(v)
    return json.dumps(v)  # strings (ASCII here) and integers read the same in JSON and TOML


def render_config(operations: dict[str, dict], dictionaries: dict[str, list] | None = None) -> str:
    """schemathesis.toml: COMMON_CONFIG, then dictionaries, then one [[operations]] per operation."""
    out = [COMMON_CONFIG]
    for name, values in (dictionaries or {}).items():
        out.append(f"[dictionaries.{name}]\nvalues = {toml_value(values)}\n")
    for op in MAY_REFUSE_VALID:
        operations.setdefault(op, {}).update(ACCEPT_400)
    for op, settings in operations.items():
        lines = ["[[operations]]", f'include-operation-id = "{op}"']
        lines += [f"{k} = {toml_value(v)}" for k, v in settings.items()]
        out.append("\n".join(lines) + "\n")
    return "\n".join(out)


def known_ids_config(ids: dict[str, str]) -> str:
    """Pass 1: path (and result path) parameters pinned to existing objects per operation, and
    the ids inside request bodies drawn mostly from existing objects."""
    comp = ids["computation"]
    ops = {
        "get_capsule": {"capsule_id": ids["capsule"]},
        "list_capsule_computations": {"capsule_id": ids["capsule"]},
        "get_computation": {"computation_id": comp},
        "rename_computation": {"computation_id": comp},
        "delete_computation": {"computation_id": ids["sacrificial"]},
        "list_computation_results": {"computation_id": comp},
        "get_result_file_urls": {"computation_id": comp, "path": ids["file"]},
        "get_result_file_download_url": {"computation_id": comp, "path": ids["file"]},
        "get_data_asset": {"data_asset_id": ids["data_asset"]},
        "update_data_asset": {"data_asset_id": ids["data_asset"]},
        # The 36 operations of the official SDK beyond the documents.
        "delete_capsule": {"capsule_id": ids["capsule_copy"]},
        "get_capsule_app_panel": {"capsule_id": ids["capsule"]},
        "archive_capsule": {"capsule_id": ids["capsule"]},
        "attach_capsule_data_assets": {"capsule_id": ids["capsule"]},
        "detach_capsule_data_assets": {"capsule_id": ids["capsule"]},
        "get_capsule_permissions": {"capsule_id": ids["capsule"]},
        "update_capsule_permissions": {"capsule_id": ids["capsule"]},
        "release_capsule": {"capsule_id": ids["capsule"]},
        "get_capsule_release_job": {"capsule_id": ids["capsule"], "job_id": ids["capsule_job"]},
        "sync_capsule": {"capsule_id": ids["capsule"]},
        "get_pipeline": {"pipeline_id": ids["pipeline"]},
        "delete_pipeline": {"pipeline_id": ids["pipeline_copy"]},
        "get_pipeline_app_panel": {"pipeline_id": ids["pipeline"]},
        "archive_pipeline": {"pipeline_id": ids["pipeline"]},
        "list_pipeline_computations": {"pipeline_id": ids["pipeline"]},
        "attach_pipeline_data_assets": {"pipeline_id": ids["pipeline"]},
        "detach_pipeline_data_assets": {"pipeline_id": ids["pipeline"]},
        "get_pipeline_permissions": {"pipeline_id": ids["pipeline"]},
        "update_pipeline_permissions": {"pipeline_id": ids["pipeline"]},
        "release_pipeline": {"pipeline_id": ids["pipeline"]},
        "get_pipeline_release_job": {"pipeline_id": ids["pipeline"], "job_id": ids["pipeline_job"]},
        "sync_pipeline": {"pipeline_id": ids["pipeline"]},
        "attach_computation_data_assets": {"computation_id": ids["session"]},
        "detach_computation_data_assets": {"computation_id": ids["session"]},
        "delete_data_asset": {"data_asset_id": ids["asset_to_delete"]},
        "archive_data_asset": {"data_asset_id": ids["data_asset"]},
        "list_data_asset_files": {"data_asset_id": INPUT_ASSET},
        "get_data_asset_file_urls": {"data_asset_id": INPUT_ASSET, "path": "README.md"},
        "get_data_asset_file_download_url": {"data_asset_id": INPUT_ASSET, "path": "README.md"},
        "get_data_asset_permissions": {"data_asset_id": ids["data_asset"]},
        "update_data_asset_permissions": {"data_asset_id": ids["data_asset"]},
        "transfer_data_asset": {"data_asset_id": ids["asset_to_transfer"]},
    }
    # Every operation with an id in its path is pinned (a new operation must be added here).
    spec = yaml.safe_load(SPEC.read_text())
    with_ids = {op["operationId"] for path, item in spec["paths"].items() if "{" in path
                for method, op in item.items() if method != "parameters"}
    if with_ids - ops.keys():
        sys.exit(f"conformance: operations with ids in their path but none pinned: {sorted(with_ids - ops.keys())}")
    operations = {op: {"parameters": params} for op, params in ops.items()}
    operations["run_computation"] = {"parameters": {
        "body.capsule_id": {"dictionary": "capsules", "probability": 0.8},
        "body.pipeline_id": {"dictionary": "pipelines", "probability": 0.8},
        "body.data_assets[*].id": {"dictionary": "assets", "probability": 0.8},
    }}
    operations["create_data_asset"] = {"parameters": {
        "body.source.computation.id": {"dictionary": "computations", "probability": 0.8},
    }}
    dictionaries = {
        "capsules": [CAPSULE_OK, CAPSULE_FAILS],
        "pipelines": [PIPELINE],
        "assets": [INPUT_ASSET, ids["data_asset"]],
        "computations": [comp],
    }
    return render_config(operations, dictionaries)


def schemathesis(name: str, api: str, token: str, args: argparse.Namespace, config: str, work: Path) -> int:
    st = Path(sys.executable).parent / "st"
    if not st.exists():
        sys.exit(f"conformance: {st} not found: install .ci/requirements.txt in this virtualenv")
    cfg = work / f"{name}.toml"
    cfg.write_text(config)
    cmd = [
        str(st), "--config-file", str(cfg), "run", str(args.spec.resolve()),
        "--url", api,
        "--auth", f"{token}:",
        "--checks", "all",
        "--max-examples", str(args.max_examples),
        "--seed", str(args.seed),
        "--generation-database", "none",
        "--workers", "4",
        "--request-timeout", "10",
        "--no-color",
        "--report", "junit",
        "--report-dir", str(work / f"report-{name}"),
    ]
    print(f"::: conformance pass '{name}': st run {args.spec} --url {api} "
          f"--checks all --max-examples {args.max_examples} --seed {args.seed}", flush=True)
    t0 = time.monotonic()
    rc = subprocess.call(cmd, cwd=work)
    print(f"::: conformance pass '{name}' exited {rc} after {time.monotonic() - t0:.1f} s", flush=True)
    return rc


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", default=os.environ.get("CODEOCEAN_DOMAIN"),
                    help="server origin, e.g. http://127.0.0.1:8080 (default $CODEOCEAN_DOMAIN)")
    ap.add_argument("--token", default=os.environ.get("CODEOCEAN_TOKEN"),
                    help="API token (default $CODEOCEAN_TOKEN)")
    ap.add_argument("--max-examples", type=int, default=int(os.environ.get("CONFORMANCE_MAX_EXAMPLES", 30)),
                    help="schemathesis test cases per operation and phase (default 30)")
    ap.add_argument("--seed", type=int, default=int(os.environ.get("CONFORMANCE_SEED", 20261123)),
                    help="schemathesis seed; fixed by default so that CI is reproducible")
    ap.add_argument("--spec", type=Path, default=SPEC, help="the OpenAPI document (default openapi/codeocean.yaml)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (configs, JUnit reports)")
    args = ap.parse_args()
    if not args.url or not args.token:
        ap.error("give --url and --token (or set CODEOCEAN_DOMAIN and CODEOCEAN_TOKEN)")
    api = args.url.rstrip("/")
    if not api.endswith("/api/v1"):
        api += "/api/v1"

    ids = setup(api, args.token)
    print("::: conformance setup: " + ", ".join(f"{k}={v}" for k, v in ids.items()), flush=True)
    work = Path(tempfile.mkdtemp(prefix="conformance-"))
    try:
        rc1 = schemathesis("known-ids", api, args.token, args, known_ids_config(ids), work)
        rc2 = schemathesis("generated-ids", api, args.token, args, render_config({}), work)
    finally:
        if args.keep:
            print(f"::: conformance work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    if rc1 or rc2:
        print(f"::: conformance FAILED (known-ids exit {rc1}, generated-ids exit {rc2})", flush=True)
        return 1
    print("::: conformance passed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
