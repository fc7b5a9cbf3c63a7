#!/usr/bin/env python3
"""Drive a Code Ocean server (normally the local simulator, crates/codeocean-sim) with the OFFICIAL
Python SDK (`codeocean` 0.17.0 on PyPI) and check that every call the SDK makes succeeds.

The SDK's response models are strict: a missing required field raises KeyError and an enum value it
does not know raises ValueError. So this script proves that the server sends what a current Code
Ocean sends, as far as the official client can tell. Every one of the SDK's 48 operations is called
(the script fails otherwise), and data assets are made from every kind of source the simulator's
buckets offer: an S3 prefix kept on external storage, a GCS prefix with client credentials, and a
combined asset of the two, each waited for, listed and downloaded. Only the SDK's own methods talk to the API; `requests` is used only
for the signed storage URLs, which the SDK does not download, and for the simulator's admin routes
(`/__sim`), which make what the API cannot: copies of a capsule to delete, a cloud workstation
session, many data assets.

Usage:
    fidelity.py [--domain http://127.0.0.1:PORT] [--token TOKEN] [--api both|legacy|modern]

The domain and token default to $CODEOCEAN_DOMAIN and $CODEOCEAN_TOKEN. `--api` says which result
URL routes the server has (the simulator's `--api`): `legacy` has no results/urls (the SDK's
get_result_file_urls must fail with 404), `modern` has no results/download_url (the deprecated call
must fail with 404), `both` has both.

Prints one line per step; exits 1 on the first failure (with the SDK's exception), 2 on bad usage.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time
import traceback
import uuid
import warnings
from typing import Any, Callable

import requests

from codeocean import CodeOcean
from codeocean.computation import (
    ComputationEndStatus,
    ComputationState,
    DataAssetsRunParam,
    NamedRunParam,
    PipelineProcessParams,
    RunParams,
)
from codeocean.capsule import CapsuleReleaseJobStatus, CapsuleSearchParams, CapsuleSortBy
from codeocean.components import (
    EveryoneRole,
    GroupPermissions,
    GroupRole,
    Permissions,
    SearchFilter,
    SearchFilterRange,
    SortOrder,
    UserPermissions,
    UserRole,
)
from codeocean.data_asset import (
    AWSS3Source,
    AWSS3Target,
    ComputationSource,
    DataAssetAttachParams,
    DataAssetOrigin,
    DataAssetParams,
    DataAssetSearchParams,
    DataAssetSortBy,
    DataAssetState,
    DataAssetType,
    DataAssetUpdateParams,
    GCPCloudStorageSource,
    Source,
    Target,
    TransferDataParams,
)
from codeocean.error import Error as SdkError

# The simulator's built-in catalogue (crates/codeocean-sim/src/catalogue.rs, `--print-builtin`).
CAPSULE_OK = "c0ffee00-0000-4000-8000-000000000001"
CAPSULE_FAILS = "c0ffee00-0000-4000-8000-000000000002"
PIPELINE = "c0ffee00-0000-4000-8000-00000000000a"
PIPELINE_PROCESS = "capsule_align_1"
INPUT_ASSET = "da7a0000-0000-4000-8000-000000000001"
S3_BUCKET = "sim-s3-data"
GCS_BUCKET = "sim-gcs-data"
# Sent as the GCS client secret; the server must never send it back.
GCS_SECRET = "fidelity-gcs-secret-" + uuid.uuid4().hex


# The SDK methods that each send one of the 48 operations of openapi/codeocean.yaml (waiters
# and iterators call these). fidelity.py fails unless every one was called.
SDK_OPERATIONS = {
    *(f"capsules.{m}" for m in (
        "get_capsule", "delete_capsule", "get_capsule_app_panel", "list_computations",
        "get_permissions", "update_permissions", "attach_data_assets", "detach_data_assets",
        "sync_capsule", "release_capsule", "get_release_job", "archive_capsule", "search_capsules")),
    *(f"pipelines.{m}" for m in (
        "get_pipeline", "delete_pipeline", "get_pipeline_app_panel", "list_computations",
        "get_permissions", "update_permissions", "attach_data_assets", "detach_data_assets",
        "sync_pipeline", "release_pipeline", "get_release_job", "archive_pipeline", "search_pipelines")),
    *(f"computations.{m}" for m in (
        "get_computation", "run_capsule", "attach_data_assets", "detach_data_assets",
        "list_computation_results", "get_result_file_download_url", "get_result_file_urls",
        "delete_computation", "rename_computation")),
    *(f"data_assets.{m}" for m in (
        "get_data_asset", "update_metadata", "create_data_asset", "delete_data_asset",
        "update_permissions", "archive_data_asset", "search_data_assets", "get_permissions",
        "list_data_asset_files", "get_data_asset_file_download_url", "get_data_asset_file_urls",
        "transfer_data_asset")),
    "custom_metadata.get_custom_metadata",
}
assert len(SDK_OPERATIONS) == 48


class CheckFailed(Exception):
    """A check of this script (not the SDK) failed."""


def check(cond: bool, what: str) -> None:
    if not cond:
        raise CheckFailed(what)


class Steps:
    """Runs named steps, printing a line for each; stops at the first failure."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.count = 0
        self.covered: set[str] = set()

    def __call__(self, name: str, fn: Callable[[], Any]) -> Any:
        self.count += 1
        # A step named "group.method ..." (or "a + b") calls those SDK methods.
        self.covered.update(word for word in name.split() if word in SDK_OPERATIONS)
        t0 = time.monotonic()
        try:
            value = fn()
        except BaseException as err:  # noqa: BLE001 - report anything, then stop
            print(f"[{self.label}] FAIL {name}: {type(err).__name__}: {err}", flush=True)
            if not isinstance(err, (CheckFailed, SdkError)):
                traceback.print_exc()
            raise SystemExit(1) from err
        ms = (time.monotonic() - t0) * 1000
        detail = f" -> {value}" if isinstance(value, str) else ""
        print(f"[{self.label}] ok   {name} ({ms:.0f} ms){detail}", flush=True)
        return value


def expect_sdk_error(status: int, fn: Callable[[], Any], json_body: bool | None = None) -> str:
    """Runs an SDK call that must fail with this HTTP status (the SDK raises codeocean.error.Error).

    json_body=True: the error must carry a JSON body (the API's own "not found", e.g. of a file);
    False: it must not (a route the server does not have, which a client tells apart from a
    missing file to decide on falling back to the other URL route); None: either.
    """
    try:
        fn()
    except SdkError as err:
        check(err.status_code == status, f"expected HTTP {status}, SDK raised HTTP {err.status_code}: {err.message}")
        if json_body is True:
            check(isinstance(err.data, dict), f"HTTP {status} without a JSON error body: {err.message!r}")
        if json_body is False:
            check(err.data is None, f"HTTP {status} of a missing route carries JSON: {err.data!r}")
        kind = "" if json_body is None else (" with a JSON error" if json_body else " without JSON (no such route)")
        return f"HTTP {err.status_code}{kind}, as expected"
    raise CheckFailed(f"expected the SDK to fail with HTTP {status}, it succeeded")


def deprecated(fn: Callable[[], Any]) -> Any:
    """Calls an SDK method that warns it is deprecated, without the warning noise."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return fn()


def download(url: str, size: int | None) -> bytes:
    """GETs a signed URL the way a user would: plain requests, no Code Ocean auth."""
    res = requests.get(url, timeout=30)
    check(res.status_code == 200, f"GET signed URL: HTTP {res.status_code}: {res.text[:200]}")
    check("authorization" not in {k.lower() for k in res.request.headers}, "requests sent an Authorization header")
    if size is not None:
        check(len(res.content) == size, f"downloaded {len(res.content)} bytes, the listing says {size}")
    return res.content


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--domain", default=os.environ.get("CODEOCEAN_DOMAIN"),
                    help="server origin, e.g. http://127.0.0.1:8080 (default $CODEOCEAN_DOMAIN)")
    ap.add_argument("--token", default=os.environ.get("CODEOCEAN_TOKEN"),
                    help="API token (default $CODEOCEAN_TOKEN)")
    ap.add_argument("--api", choices=["both", "legacy", "modern"], default="both",
                    help="which result URL routes the server has (default both)")
    ap.add_argument("--polling-interval", type=float, default=5.0,
                    help="the SDK waiters' polling interval in seconds (the SDK's minimum is 5)")
    ap.add_argument("--timeout", type=float, default=120.0,
                    help="the SDK waiters' timeout in seconds (default 120)")
    args = ap.parse_args()
    if not args.domain or not args.token:
        ap.error("give --domain and --token (or set CODEOCEAN_DOMAIN and CODEOCEAN_TOKEN)")
    domain = args.domain.rstrip("/")
    if domain.endswith("/api/v1"):
        domain = domain[: -len("/api/v1")]

    step = Steps(args.api)
    co = CodeOcean(domain=domain, token=args.token)
    cs, das = co.computations, co.data_assets
    wait = {"polling_interval": args.polling_interval, "timeout": args.timeout}
    has_urls = args.api in ("both", "modern")
    has_download_url = args.api in ("both", "legacy")
    suffix = uuid.uuid4().hex[:8]

    # --- The capsule and its runs. All runs start before the first wait, so that the SDK waiters'
    # fixed sleep (at least 5 s) is paid about once, not once per run.
    def get_capsule():
        cap = co.capsules.get_capsule(CAPSULE_OK)
        check(cap.id == CAPSULE_OK, f"capsule id {cap.id!r}")
        return f"{cap.name!r} status={cap.status} slug={cap.slug}"

    step("capsules.get_capsule", get_capsule)

    def run_ok():
        comp = cs.run_capsule(RunParams(
            capsule_id=CAPSULE_OK,
            data_assets=[DataAssetsRunParam(id=INPUT_ASSET, mount="reference")],
            named_parameters=[NamedRunParam(param_name="greeting", value="hello from fidelity.py")],
        ))
        check(bool(comp.id), "run response has no id")
        return comp

    comp = step("computations.run_capsule (data asset + named parameter)", run_ok)

    def run_fails():
        return cs.run_capsule(RunParams(capsule_id=CAPSULE_FAILS, parameters=["--fail"]))

    failing = step("computations.run_capsule (capsule that fails)", run_fails)

    def run_pipeline():
        return cs.run_pipeline(RunParams(
            pipeline_id=PIPELINE,
            processes=[PipelineProcessParams(name=PIPELINE_PROCESS, parameters=["fast"])],
        ))

    pipe = step("computations.run_pipeline (process parameters)", run_pipeline)

    def wait_ok():
        nonlocal comp
        comp = cs.wait_until_completed(comp, **wait)
        check(comp.state == ComputationState.Completed, f"state {comp.state!r}, expected completed")
        check(comp.end_status == ComputationEndStatus.Succeeded, f"end_status {comp.end_status!r}, expected succeeded")
        check(comp.exit_code == 0, f"exit_code {comp.exit_code!r}, expected 0")
        check(comp.has_results is True, f"has_results {comp.has_results!r}")
        mounted = {(d.id, d.mount) for d in comp.data_assets or []}
        check((INPUT_ASSET, "reference") in mounted, f"data_assets {comp.data_assets!r}")
        values = {p.value for p in comp.parameters or []}
        check("hello from fidelity.py" in values, f"parameters {comp.parameters!r}")
        return f"{comp.state}/{comp.end_status} run_time={comp.run_time}s"

    step("computations.wait_until_completed (succeeding run)", wait_ok)

    def wait_fails():
        done = cs.wait_until_completed(failing, **wait)
        check(done.state in (ComputationState.Completed, ComputationState.Failed), f"state {done.state!r}")
        check(done.end_status == ComputationEndStatus.Failed, f"end_status {done.end_status!r}, expected failed")
        check(done.exit_code not in (None, 0), f"exit_code {done.exit_code!r}, expected non-zero")
        return f"{done.state}/{done.end_status} exit_code={done.exit_code}"

    step("computations.wait_until_completed (failing run reports failed)", wait_fails)

    def wait_pipeline():
        done = cs.wait_until_completed(pipe, **wait)
        check(done.end_status == ComputationEndStatus.Succeeded, f"end_status {done.end_status!r}")
        return f"{done.state}/{done.end_status} processes={len(done.processes or [])}"

    step("computations.wait_until_completed (pipeline run)", wait_pipeline)

    def get_computation():
        again = cs.get_computation(comp.id)
        check(again.id == comp.id and again.end_status == ComputationEndStatus.Succeeded, f"{again!r}")

    step("computations.get_computation", get_computation)

    def list_runs():
        runs = co.capsules.list_computations(CAPSULE_OK)
        check(comp.id in {r.id for r in runs}, f"run {comp.id} not among the capsule's {len(runs)} computations")
        return f"{len(runs)} computation(s)"

    step("capsules.list_computations", list_runs)

    # --- Results: walk the tree one folder at a time, as the SDK lists one level only.
    files: dict[str, int] = {}

    def walk():
        folders = 0
        pending = [""]
        while pending:
            folder = pending.pop()
            listing = cs.list_computation_results(comp.id, path=folder)
            folders += 1
            for item in listing.items:
                check(item.type in ("file", "folder"), f"{item.path!r}: type {item.type!r}")
                parent = item.path.rpartition("/")[0]
                check(parent == folder and item.path.rpartition("/")[2] == item.name,
                      f"item {item.path!r} named {item.name!r} listed under {folder!r}")
                if item.type == "folder":
                    pending.append(item.path)
                else:
                    check(item.size is not None and item.size >= 0, f"{item.path!r}: size {item.size!r}")
                    files[item.path] = item.size
        check(bool(files), "the results hold no files")
        return f"{len(files)} files in {folders} folders, {sum(files.values())} bytes"

    step("computations.list_computation_results (recursive walk)", walk)

    downloaded: dict[str, str] = {}
    some_file = "output.txt" if "output.txt" in files else sorted(files)[0]

    if has_urls:
        def urls_all():
            total = 0
            for path, size in sorted(files.items()):
                urls = cs.get_result_file_urls(comp.id, path)
                body = download(urls.download_url, size)
                downloaded[path] = hashlib.sha256(body).hexdigest()
                total += len(body)
            return f"{len(files)} files, {total} bytes, sizes match the listing"

        step("computations.get_result_file_urls + download without auth", urls_all)

        def view_url():
            urls = cs.get_result_file_urls(comp.id, some_file)
            download(urls.view_url, files[some_file])

        step(f"view_url of {some_file} (no auth)", view_url)

        def urls_with_auth():
            url = cs.get_result_file_urls(comp.id, some_file).download_url
            res = requests.get(url, auth=(args.token, ""), timeout=30)
            check(res.status_code == 400, f"signed URL with Authorization: HTTP {res.status_code}, expected 400")
            return "HTTP 400 as expected"

        step("signed URL requested WITH Authorization is refused", urls_with_auth)

        def urls_missing_file():
            return expect_sdk_error(404, lambda: cs.get_result_file_urls(comp.id, "no/such/file.txt"), json_body=True)

        step("computations.get_result_file_urls (missing file)", urls_missing_file)
    else:
        def urls_gone():
            return expect_sdk_error(404, lambda: cs.get_result_file_urls(comp.id, some_file), json_body=False)

        step("computations.get_result_file_urls is missing on a legacy server", urls_gone)

    if has_download_url:
        def download_url_all():
            for path, size in sorted(files.items()):
                url = deprecated(lambda: cs.get_result_file_download_url(comp.id, path)).url
                body = download(url, size)
                digest = hashlib.sha256(body).hexdigest()
                if path in downloaded:
                    check(downloaded[path] == digest, f"{path}: bytes differ between the two URL routes")
                downloaded[path] = digest
            return f"{len(files)} files" + (", same bytes as results/urls" if has_urls else "")

        step("computations.get_result_file_download_url (deprecated) + download", download_url_all)

        def download_url_with_auth():
            url = deprecated(lambda: cs.get_result_file_download_url(comp.id, some_file)).url
            res = requests.get(url, headers={"Authorization": "Bearer " + args.token}, timeout=30)
            check(res.status_code == 400, f"signed URL with Authorization: HTTP {res.status_code}, expected 400")
            return "HTTP 400 as expected"

        step("deprecated signed URL requested WITH Authorization is refused", download_url_with_auth)

        def download_url_missing_file():
            return expect_sdk_error(
                404, lambda: deprecated(lambda: cs.get_result_file_download_url(comp.id, "no/such/file.txt")),
                json_body=True)

        step("computations.get_result_file_download_url (missing file)", download_url_missing_file)
    else:
        def download_url_gone():
            return expect_sdk_error(
                404, lambda: deprecated(lambda: cs.get_result_file_download_url(comp.id, some_file)),
                json_body=False)

        step("computations.get_result_file_download_url is missing on a modern server", download_url_gone)

    # --- Rename, then keep the results as a data asset.
    new_name = f"fidelity {suffix}"

    def rename():
        cs.rename_computation(comp.id, new_name)
        got = cs.get_computation(comp.id).name
        check(got == new_name, f"name after rename {got!r}, expected {new_name!r}")

    step("computations.rename_computation", rename)

    asset = None

    def create_asset():
        nonlocal asset
        asset = das.create_data_asset(DataAssetParams(
            name=f"fidelity results {suffix}",
            description="Results kept by tests/python/fidelity.py",
            mount="fidelity",
            tags=["fidelity", "sim"],
            source=Source(computation=ComputationSource(id=comp.id)),
        ))
        check(bool(asset.id), "no id")
        return f"{asset.id} state={asset.state}"

    step("data_assets.create_data_asset (computation source)", create_asset)

    def wait_ready():
        nonlocal asset
        asset = das.wait_until_ready(asset, **wait)
        check(asset.state == DataAssetState.Ready, f"state {asset.state!r}, expected ready")
        check(asset.type == DataAssetType.Result, f"type {asset.type!r}, expected result")
        check(asset.mount == "fidelity", f"mount {asset.mount!r}")
        prov = asset.provenance
        check(prov is not None and prov.computation == comp.id, f"provenance {prov!r}")
        return f"{asset.state} files={asset.files} size={asset.size}"

    step("data_assets.wait_until_ready", wait_ready)

    custom = {"study": "fidelity", "replicate": 3}

    def update():
        upd = das.update_metadata(asset.id, DataAssetUpdateParams(
            name=f"fidelity renamed {suffix}",
            description="updated by fidelity.py",
            tags=["fidelity", "updated"],
            mount="kept",
            custom_metadata=custom,
        ))
        check(upd.name == f"fidelity renamed {suffix}", f"name {upd.name!r}")
        check(upd.description == "updated by fidelity.py", f"description {upd.description!r}")
        check(upd.tags == ["fidelity", "updated"], f"tags {upd.tags!r}")
        check(upd.mount == "kept", f"mount {upd.mount!r}")
        check(upd.custom_metadata == custom, f"custom_metadata {upd.custom_metadata!r}")

    step("data_assets.update_metadata (with custom_metadata)", update)

    def reread():
        got = das.get_data_asset(asset.id)
        check(got.name == f"fidelity renamed {suffix}" and got.custom_metadata == custom,
              f"update not kept: name={got.name!r} custom_metadata={got.custom_metadata!r}")

    step("data_assets.get_data_asset (update kept)", reread)

    def input_asset():
        got = das.get_data_asset(INPUT_ASSET)
        check(got.state == DataAssetState.Ready, f"state {got.state!r}")
        return f"{got.name!r} type={got.type}"

    step("data_assets.get_data_asset (catalogue input asset)", input_asset)

    # --- The 36 operations beyond the API documents. Objects the API cannot make (copies of a
    # capsule to delete, a cloud workstation session, many data assets) come from the
    # simulator's admin routes.
    admin = f"{domain}/__sim"

    def admin_post(path: str, body: dict) -> dict:
        res = requests.post(f"{admin}{path}", json=body, timeout=30)
        check(res.status_code == 200, f"admin {path}: HTTP {res.status_code}: {res.text[:200]}")
        return res.json()

    for kind, api_, original, run in (("capsules", co.capsules, CAPSULE_OK, comp),
                                      ("pipelines", co.pipelines, PIPELINE, pipe)):
        noun = kind[:-1]
        get_one = api_.get_capsule if kind == "capsules" else api_.get_pipeline

        if kind == "pipelines":
            def get_pipeline():
                got = co.pipelines.get_pipeline(PIPELINE)
                check(got.id == PIPELINE, f"pipeline id {got.id!r}")
                return f"{got.name!r} status={got.status}"

            step("pipelines.get_pipeline", get_pipeline)

            def pipeline_runs():
                runs = co.pipelines.list_computations(PIPELINE)
                check(pipe.id in {r.id for r in runs}, f"run {pipe.id} not among {len(runs)}")
                return f"{len(runs)} computation(s)"

            step("pipelines.list_computations", pipeline_runs)

        def app_panel(api_=api_, original=original, kind=kind):
            get = api_.get_capsule_app_panel if kind == "capsules" else api_.get_pipeline_app_panel
            panel = get(original)
            check(panel.general is not None and bool(panel.general.title), f"general {panel.general!r}")
            if kind == "capsules":
                names = {p.param_name for p in panel.parameters or []}
                check({"greeting", "count"} <= names, f"parameters {names}")
                check(any(r.file_name == "output.txt" for r in panel.results or []), f"results {panel.results!r}")
            else:
                check(len(panel.processes or []) == 2, f"processes {panel.processes!r}")
                check(all(p.categories is not None and p.parameters is not None for p in panel.processes),
                      f"processes {panel.processes!r}")
            get(original, version=1)
            return f"{len(panel.parameters or [])} parameter(s), {len(panel.processes or [])} process(es)"

        step(f"{kind}.get_{noun}_app_panel", app_panel)

        def permissions(api_=api_, original=original):
            before = api_.get_permissions(original)
            check(any(u.role == UserRole.Owner for u in before.users or []), f"users {before.users!r}")
            api_.update_permissions(original, Permissions(
                users=[UserPermissions(email="colleague@example.org", role=UserRole.Viewer)],
                groups=[GroupPermissions(group="lab", role=GroupRole.Discoverable)],
                everyone=EveryoneRole.None_,
            ))
            after = api_.get_permissions(original)
            emails = {u.email: u.role for u in after.users or []}
            check(emails.get("colleague@example.org") == UserRole.Viewer, f"users {after.users!r}")
            check([g.group for g in after.groups or []] == ["lab"], f"groups {after.groups!r}")
            return f"{len(after.users)} user(s), {len(after.groups)} group(s)"

        step(f"{kind}.get_permissions + {kind}.update_permissions", permissions)
        step(f"{kind}.update_permissions (kept)", lambda api_=api_, original=original:
             check(len(api_.get_permissions(original).users or []) == 2, "update not kept"))

        def attach(api_=api_, original=original):
            res = api_.attach_data_assets(original, [DataAssetAttachParams(id=INPUT_ASSET, mount="fidelity-ref")])
            check(len(res) == 1 and res[0].id == INPUT_ASSET and res[0].mount == "fidelity-ref", f"{res!r}")
            return f"mount={res[0].mount} ready={res[0].ready}"

        step(f"{kind}.attach_data_assets", attach)

        def attach_unknown(api_=api_, original=original):
            return expect_sdk_error(
                400, lambda: api_.attach_data_assets(original, [DataAssetAttachParams(id="no-such-asset")]),
                json_body=True)

        step(f"{kind}.attach_data_assets (unknown asset is refused)", attach_unknown)
        step(f"{kind}.detach_data_assets",
             lambda api_=api_, original=original: api_.detach_data_assets(original, [INPUT_ASSET]))

        def sync(api_=api_, original=original, kind=kind):
            res = (api_.sync_capsule if kind == "capsules" else api_.sync_pipeline)(original)
            check(res.pushed > 0 and res.new_branch, f"first sync {res!r}")
            return f"pushed={res.pushed} pulled={res.pulled} new_branch={res.new_branch}"

        step(f"{kind}.sync_{noun}", sync)

        def release(api_=api_, original=original, kind=kind):
            versions = len(get_one(original).versions or [])
            job = (api_.release_capsule if kind == "capsules" else api_.release_pipeline)(original)
            check(bool(job.job_id), f"job {job!r}")
            again = api_.get_release_job(original, job.job_id)
            check(again.job_id == job.job_id, f"job {again!r}")
            done = api_.wait_until_release_completed(original, job, **wait)
            check(done.status == CapsuleReleaseJobStatus.Completed, f"status {done.status!r}")
            check(done.release_version is not None and done.release_version.major_version == versions + 1,
                  f"release_version {done.release_version!r}, expected major {versions + 1}")
            now = len(get_one(original).versions or [])
            check(now == versions + 1, f"{now} versions after the release, expected {versions + 1}")
            return f"{done.status}: version {done.release_version.major_version}"

        step(f"{kind}.release_{noun} + {kind}.get_release_job + wait_until_release_completed", release)

        def search(api_=api_, original=original, kind=kind):
            search_fn = api_.search_capsules if kind == "capsules" else api_.search_pipelines
            iterate = api_.search_capsules_iterator if kind == "capsules" else api_.search_pipelines_iterator
            page = search_fn(CapsuleSearchParams(query=f"id:{original}", limit=10))
            check([c.id for c in page.results] == [original] and not page.has_more, f"{page!r}")
            everything = list(iterate(CapsuleSearchParams(limit=1, sort_field=CapsuleSortBy.Name,
                                                          sort_order=SortOrder.Ascending)))
            ids = [c.id for c in everything]
            check(original in ids and len(ids) == len(set(ids)), f"iterator gave {ids}")
            return f"{len(ids)} {kind} through the SDK's iterator, one per page"

        step(f"{kind}.search_{kind}", search)

        copy = admin_post(f"/capsules/{original}/copies", {"count": 1})["ids"][0]

        def archive(api_=api_, copy=copy, kind=kind):
            archive_fn = api_.archive_capsule if kind == "capsules" else api_.archive_pipeline
            search_fn = api_.search_capsules if kind == "capsules" else api_.search_pipelines
            archive_fn(copy, True)
            archived = {c.id for c in search_fn(CapsuleSearchParams(archived=True)).results}
            active = {c.id for c in search_fn(CapsuleSearchParams()).results}
            check(copy in archived and copy not in active, f"archived {archived}, active {active}")
            archive_fn(copy, False)
            check(copy in {c.id for c in search_fn(CapsuleSearchParams()).results}, "unarchive not kept")
            return "archived, then back"

        step(f"{kind}.archive_{noun}", archive)

        def delete(api_=api_, copy=copy, kind=kind):
            (api_.delete_capsule if kind == "capsules" else api_.delete_pipeline)(copy)
            return expect_sdk_error(404, lambda: get_one(copy), json_body=True)

        step(f"{kind}.delete_{noun} (a copy; then 404)", delete)

    # --- Cloud workstation sessions take data assets while they run.
    session = admin_post("/cloud_workstations", {"capsule_id": CAPSULE_OK})["id"]

    def session_attach():
        res = cs.attach_data_assets(session, [DataAssetAttachParams(id=INPUT_ASSET, mount="ref")])
        check(res[0].id == INPUT_ASSET and res[0].mount == "ref", f"{res!r}")
        mounted = {(d.id, d.mount) for d in cs.get_computation(session).data_assets or []}
        check((INPUT_ASSET, "ref") in mounted, f"data_assets {mounted}")
        return f"ready={res[0].ready} mount_state={res[0].mount_state}"

    step("computations.attach_data_assets (cloud workstation)", session_attach)

    def session_detach():
        cs.detach_data_assets(session, [INPUT_ASSET])
        check(not cs.get_computation(session).data_assets, "still attached")

    step("computations.detach_data_assets (cloud workstation)", session_detach)

    # --- Data asset files: the built-in asset, and the result asset made above, which lists its
    # computation's files.
    def walk_asset(asset_id: str) -> dict[str, int]:
        out: dict[str, int] = {}
        pending = [""]
        while pending:
            folder = pending.pop()
            for item in das.list_data_asset_files(asset_id, path=folder).items:
                check(item.path.rpartition("/")[0] == folder, f"{item.path!r} listed under {folder!r}")
                if item.type == "folder":
                    pending.append(item.path)
                else:
                    out[item.path] = item.size
        return out

    asset_files: dict[str, int] = {}

    def list_input_files():
        asset_files.update(walk_asset(INPUT_ASSET))
        got = das.get_data_asset(INPUT_ASSET)
        check(len(asset_files) == got.files and sum(asset_files.values()) == got.size,
              f"{len(asset_files)} files, {sum(asset_files.values())} bytes; the asset says {got.files}, {got.size}")
        return f"{len(asset_files)} files, {sum(asset_files.values())} bytes"

    step("data_assets.list_data_asset_files (built-in asset, recursive walk)", list_input_files)

    def list_result_asset():
        listed = walk_asset(asset.id)
        check(listed == files, f"the result asset lists {sorted(listed)}, its computation {sorted(files)}")
        return f"{len(listed)} files, as its computation's results"

    step("data_assets.list_data_asset_files (result asset = its computation's files)", list_result_asset)
    readme = "README.md"
    if has_urls:
        def asset_urls():
            for path, size in sorted(asset_files.items()):
                urls = das.get_data_asset_file_urls(INPUT_ASSET, path)
                download(urls.download_url, size)
                download(urls.view_url, size)
            return f"{len(asset_files)} files downloaded without auth, sizes match"

        step("data_assets.get_data_asset_file_urls + download", asset_urls)
        step("data_assets.get_data_asset_file_urls (missing file)",
             lambda: expect_sdk_error(404, lambda: das.get_data_asset_file_urls(INPUT_ASSET, "no/such"), json_body=True))
    else:
        step("data_assets.get_data_asset_file_urls is missing on a legacy server",
             lambda: expect_sdk_error(404, lambda: das.get_data_asset_file_urls(INPUT_ASSET, readme), json_body=False))
    if has_download_url:
        def asset_download_url():
            url = deprecated(lambda: das.get_data_asset_file_download_url(INPUT_ASSET, readme)).url
            download(url, asset_files[readme])
            return f"{readme}: {asset_files[readme]} bytes"

        step("data_assets.get_data_asset_file_download_url (deprecated) + download", asset_download_url)
    else:
        step("data_assets.get_data_asset_file_download_url is missing on a modern server",
             lambda: expect_sdk_error(
                 404, lambda: deprecated(lambda: das.get_data_asset_file_download_url(INPUT_ASSET, readme)),
                 json_body=False))

    # --- Data assets from the simulator's buckets (catalogue.rs, `--print-builtin`): an S3 prefix
    # kept on external storage, a GCS prefix copied in with client credentials, and a combined
    # asset of the two; each waited for, listed and downloaded through signed URLs.
    def file_url(asset_id: str, path: str) -> str:
        if has_urls:
            return das.get_data_asset_file_urls(asset_id, path).download_url
        return deprecated(lambda: das.get_data_asset_file_download_url(asset_id, path)).url

    bucket_assets: dict[str, Any] = {}

    def create_s3():
        made = das.create_data_asset(DataAssetParams(
            name=f"fidelity s3 {suffix}", mount="samples", tags=["fidelity", "s3"],
            source=Source(aws=AWSS3Source(bucket=S3_BUCKET, prefix="raw/", keep_on_external_storage=True)),
        ))
        check(made.type == DataAssetType.Dataset, f"type {made.type!r}")
        sb = made.source_bucket
        check(sb is not None and sb.origin == DataAssetOrigin.AWS and sb.bucket == S3_BUCKET
              and sb.prefix == "raw/" and sb.external is True, f"source_bucket {sb!r}")
        bucket_assets["s3"] = made
        return f"{made.id} state={made.state} external={sb.external}"

    step("data_assets.create_data_asset (S3 source, kept on external storage)", create_s3)

    def create_gcs():
        made = das.create_data_asset(DataAssetParams(
            name=f"fidelity gcs {suffix}", mount="images", tags=["fidelity", "gcs"],
            source=Source(gcp=GCPCloudStorageSource(
                bucket=GCS_BUCKET, prefix="images", client_id="fidelity-client", client_secret=GCS_SECRET)),
        ))
        sb = made.source_bucket
        check(sb is not None and sb.origin == DataAssetOrigin.GCP and sb.bucket == GCS_BUCKET
              and sb.external is False, f"source_bucket {sb!r}")
        bucket_assets["gcs"] = made
        return f"{made.id} state={made.state}"

    step("data_assets.create_data_asset (GCS source with client credentials)", create_gcs)

    def gcs_secret_not_echoed():
        res = requests.get(f"{domain}/api/v1/data_assets/{bucket_assets['gcs'].id}", auth=(args.token, ""), timeout=30)
        check(res.status_code == 200, f"HTTP {res.status_code}")
        check(GCS_SECRET not in res.text, "the GCS client secret came back in the data asset")
        return "the client secret is not in the data asset"

    step("the GCS client secret is never echoed", gcs_secret_not_echoed)

    def unknown_bucket():
        msg = expect_sdk_error(400, lambda: das.create_data_asset(DataAssetParams(
            name="x", mount="x", tags=[], source=Source(aws=AWSS3Source(bucket="fidelity-no-such-bucket")))),
            json_body=True)
        return msg

    step("data_assets.create_data_asset (unknown bucket is refused)", unknown_bucket)

    def wait_bucket_assets():
        for kind in ("s3", "gcs"):
            got = das.wait_until_ready(bucket_assets[kind], **wait)
            check(got.state == DataAssetState.Ready, f"{kind}: state {got.state!r}")
            bucket_assets[kind] = got
        return ", ".join(f"{k}: files={a.files} size={a.size}" for k, a in bucket_assets.items())

    step("data_assets.wait_until_ready (S3 and GCS assets)", wait_bucket_assets)

    def create_combined():
        made = das.create_data_asset(DataAssetParams(
            name=f"fidelity combined {suffix}", mount="combined", tags=["fidelity", "combined"],
            data_asset_ids=[bucket_assets["s3"].id, bucket_assets["gcs"].id],
        ))
        check(made.type == DataAssetType.Combined, f"type {made.type!r}")
        parts = [(c.id, c.mount) for c in made.contained_data_assets or []]
        check(parts == [(bucket_assets["s3"].id, "samples"), (bucket_assets["gcs"].id, "images")],
              f"contained_data_assets {made.contained_data_assets!r}")
        bucket_assets["combined"] = das.wait_until_ready(made, **wait)
        check(bucket_assets["combined"].state == DataAssetState.Ready, f"state {bucket_assets['combined'].state!r}")
        return f"{made.id}: {len(parts)} parts"

    step("data_assets.create_data_asset (combined) + data_assets.wait_until_ready", create_combined)

    def bucket_asset_files():
        listed = {kind: walk_asset(a.id) for kind, a in bucket_assets.items()}
        check(sorted(listed["s3"]) == ["README.md", "sample-1/meta/info.json", "sample-1/reads.fastq",
                                       "sample-2/meta/info.json", "sample-2/reads.fastq"],
              f"S3 asset lists {sorted(listed['s3'])}")
        check(sorted(listed["gcs"]) == ["2024/01/a.tif", "2024/02/b.tif", "index.csv"],
              f"GCS asset lists {sorted(listed['gcs'])}")
        want = {f"samples/{p}": n for p, n in listed["s3"].items()} | {f"images/{p}": n for p, n in listed["gcs"].items()}
        check(listed["combined"] == want, f"combined asset lists {sorted(listed['combined'])}")
        for kind, a in bucket_assets.items():
            check(len(listed[kind]) == a.files and sum(listed[kind].values()) == a.size,
                  f"{kind}: {len(listed[kind])} files listed, the asset says {a.files}")
        digests = {}
        for kind, path in (("s3", "sample-1/reads.fastq"), ("gcs", "2024/02/b.tif"),
                           ("combined", "samples/sample-1/reads.fastq"), ("combined", "images/2024/02/b.tif")):
            body = download(file_url(bucket_assets[kind].id, path), listed[kind][path])
            digests[(kind, path)] = hashlib.sha256(body).hexdigest()
        check(digests[("s3", "sample-1/reads.fastq")] == digests[("combined", "samples/sample-1/reads.fastq")]
              and digests[("gcs", "2024/02/b.tif")] == digests[("combined", "images/2024/02/b.tif")],
              "a combined asset's file differs from its part's")
        return ", ".join(f"{k}: {len(v)} files" for k, v in listed.items()) + "; 4 files downloaded, parts' bytes match"

    step("data_assets.list_data_asset_files (S3, GCS, combined) + download", bucket_asset_files)

    def asset_permissions():
        das.update_permissions(asset.id, Permissions(
            users=[UserPermissions(email="colleague@example.org", role=UserRole.Editor)],
            everyone=EveryoneRole.Discoverable,
        ))
        got = das.get_permissions(asset.id)
        check(got.everyone == EveryoneRole.Discoverable, f"everyone {got.everyone!r}")
        check({u.email for u in got.users or []} == {"colleague@example.org", "scientist@example.org"},
              f"users {got.users!r}")

    step("data_assets.update_permissions + data_assets.get_permissions", asset_permissions)

    # Many assets, paged through with the SDK's own iterator.
    bulk = admin_post("/data_assets", {"count": 250, "name_prefix": f"fidelity {suffix}"})["ids"]

    def search_assets():
        page = das.search_data_assets(DataAssetSearchParams(query=f"name:{suffix} tag:bulk", limit=100))
        check(len(page.results) == 100 and page.has_more and bool(page.next_token), f"first page: {len(page.results)}, has_more={page.has_more}")
        seen = [a.id for a in das.search_data_assets_iterator(
            DataAssetSearchParams(query=f"name:{suffix} tag:bulk", limit=100))]
        check(sorted(seen) == sorted(bulk), f"the iterator gave {len(seen)} ids, {len(set(seen))} distinct, of {len(bulk)}")
        models = das.search_data_assets(DataAssetSearchParams(
            query=f"name:{suffix}", type=DataAssetType.Model, limit=1000,
            sort_field=DataAssetSortBy.Size, sort_order=SortOrder.Descending))
        sizes = [a.size for a in models.results]
        check(all(a.type == DataAssetType.Model for a in models.results) and sizes == sorted(sizes, reverse=True),
              "type filter or size order not kept")
        replicate = das.search_data_assets(DataAssetSearchParams(
            query=f"name:{suffix}", limit=1000,
            filters=[SearchFilter(key="replicate", range=SearchFilterRange(min=1, max=2))]))
        check(len(replicate.results) == 50, f"replicate 1-2: {len(replicate.results)} of 250")
        return f"{len(seen)} assets in 3 pages; {len(models.results)} models by size; filters work"

    step("data_assets.search_data_assets (+ the SDK iterator over 250 assets)", search_assets)

    def archive_asset():
        das.archive_data_asset(asset.id, True)
        archived = {a.id for a in das.search_data_assets(DataAssetSearchParams(archived=True)).results}
        check(asset.id in archived, "not among archived assets")
        das.archive_data_asset(asset.id, False)
        archived = {a.id for a in das.search_data_assets(DataAssetSearchParams(archived=True)).results}
        check(asset.id not in archived, "still archived")

    step("data_assets.archive_data_asset", archive_asset)

    def transfer():
        das.transfer_data_asset(bulk[0], TransferDataParams(target=Target(aws=AWSS3Target(
            bucket="fidelity-archive", prefix=f"{suffix}/"))))
        deadline = time.monotonic() + 30
        while True:
            got = das.get_data_asset(bulk[0])
            if got.last_transferred is not None:
                break
            check(time.monotonic() < deadline, "the transfer did not complete in 30 s")
            time.sleep(0.05)
        check(got.source_bucket is not None and got.source_bucket.bucket == "fidelity-archive"
              and got.source_bucket.external is True, f"source_bucket {got.source_bucket!r}")
        return f"now external in s3://{got.source_bucket.bucket}/{got.source_bucket.prefix}"

    step("data_assets.transfer_data_asset", transfer)

    def custom_metadata():
        schema = co.custom_metadata.get_custom_metadata()
        names = {f.name: f for f in schema.fields or []}
        check({"study", "replicate"} <= set(names), f"fields {sorted(names)}")
        check(all(f.category in (schema.categories or []) for f in names.values()), "a field's category is not listed")
        return f"{len(names)} fields in {len(schema.categories or [])} categories"

    step("custom_metadata.get_custom_metadata", custom_metadata)

    def delete_asset():
        das.delete_data_asset(asset.id)
        return expect_sdk_error(404, lambda: das.get_data_asset(asset.id), json_body=True)

    step("data_assets.delete_data_asset (then 404)", delete_asset)

    # --- Delete the run; the server must then answer 404 for it.
    step("computations.delete_computation", lambda: cs.delete_computation(comp.id))
    step("computations.get_computation after delete",
         lambda: expect_sdk_error(404, lambda: cs.get_computation(comp.id), json_body=True))

    missing = sorted(SDK_OPERATIONS - step.covered)
    if missing:
        print(f"[{args.api}] FAIL SDK operations never called: {', '.join(missing)}", flush=True)
        return 1
    print(f"[{args.api}] all {step.count} steps passed; all {len(SDK_OPERATIONS)} SDK operations called",
          flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
