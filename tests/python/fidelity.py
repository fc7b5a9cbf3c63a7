#!/usr/bin/env python3
"""Drive a Code Ocean server (normally the local simulator, crates/codeocean-sim) with the OFFICIAL
Python SDK (`codeocean` 0.17.0 on PyPI) and check that every call the SDK makes succeeds.

The SDK's response models are strict: a missing required field raises KeyError and an enum value it
does not know raises ValueError. So this script proves that the server sends what a current Code
Ocean sends, as far as the official client can tell. Only the SDK's own methods talk to the API;
`requests` is used only for the signed storage URLs, which the SDK does not download.

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
from codeocean.data_asset import (
    ComputationSource,
    DataAssetParams,
    DataAssetState,
    DataAssetType,
    DataAssetUpdateParams,
    Source,
)
from codeocean.error import Error as SdkError

# The simulator's built-in catalogue (crates/codeocean-sim/src/catalogue.rs, `--print-builtin`).
CAPSULE_OK = "c0ffee00-0000-4000-8000-000000000001"
CAPSULE_FAILS = "c0ffee00-0000-4000-8000-000000000002"
PIPELINE = "c0ffee00-0000-4000-8000-00000000000a"
PIPELINE_PROCESS = "capsule_align_1"
INPUT_ASSET = "da7a0000-0000-4000-8000-000000000001"


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

    def __call__(self, name: str, fn: Callable[[], Any]) -> Any:
        self.count += 1
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

    # --- Delete the run; the server must then answer 404 for it.
    step("computations.delete_computation", lambda: cs.delete_computation(comp.id))
    step("computations.get_computation after delete",
         lambda: expect_sdk_error(404, lambda: cs.get_computation(comp.id), json_body=True))

    print(f"[{args.api}] all {step.count} steps passed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
