#!/usr/bin/env python3
"""Drive `codeocean mcp` with the OFFICIAL Python MCP client (`mcp` on PyPI) against a Code Ocean
server (normally the local simulator, crates/codeocean-sim), and check what an agent relies on.

1. Over stdio (the client starts `codeocean mcp --download-dir DIR`): every tool name of the
   official codeocean-mcp-server 0.13.1 (tests/python/fixtures/official-tools.json) is listed,
   with its arguments, their JSON types and the fields of object arguments; then the whole job
   through tools: search a capsule (compact form, `next_token` paging), run it, wait, list the
   results, read a file (and a capped read, flagged "truncated"), download the whole tree (every
   file's bytes checked against its signed URL), make a data asset of the results and wait until it is ready. A missing capsule is a tool error
   with its HTTP status, and the server goes on.
2. With `--read-only`: every mutating tool is hidden, and one called anyway is refused.
3. Over streamable HTTP (`--transport http --port 0`, no token in the server's environment): a
   session with `Authorization: Bearer TOKEN` searches, runs and waits; one without a token gets a
   tool error that says to send it.
No tool result and no line the server logs may contain the token.

Usage:
    mcp_check.py --bin target/debug/codeocean [--domain URL] [--token TOKEN]
The domain and token default to $CODEOCEAN_DOMAIN and $CODEOCEAN_TOKEN.
Prints one line per step; exits 1 on the first failure.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import logging
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

# The simulator's built-in catalogue (crates/codeocean-sim/src/catalogue.rs).
CAPSULE_OK = "c0ffee00-0000-4000-8000-000000000001"
INPUT_ASSET = "da7a0000-0000-4000-8000-000000000001"
MISSING = "00000000-0000-4000-8000-0000000000ff"

FIXTURE = Path(__file__).parent / "fixtures" / "official-tools.json"

# What --read-only must hide: every official tool that changes the deployment.
MUTATING = {
    "attach_data_assets", "detach_data_assets", "sync_capsule", "release_capsule", "run_capsule",
    "rename_computation", "delete_computation", "attach_computation_data_assets",
    "detach_computation_data_assets", "update_metadata", "create_data_asset",
}
# Tools beyond the official ones.
EXTRA = {"download_results", "download_data_asset"}


class Warnings(logging.Handler):
    """The MCP client's own warnings (a session it could not end, say), kept to check."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


CLIENT_WARNINGS = Warnings()
logging.getLogger("mcp").addHandler(CLIENT_WARNINGS)


class Failure(Exception):
    pass


def check(cond: bool, what: str) -> None:
    if not cond:
        raise Failure(what)


class Texts:
    """Every text the server sent back, to look for the token in at the end."""

    def __init__(self) -> None:
        self.all: list[str] = []

    def add(self, result: Any) -> None:
        self.all.append(result.model_dump_json())


async def call(session: ClientSession, texts: Texts, name: str, args: dict, *, error: bool = False) -> Any:
    """Calls a tool; checks whether it failed as expected; returns structured content or text."""
    result = await session.call_tool(name, args)
    texts.add(result)
    text = "\n".join(c.text for c in result.content if getattr(c, "type", "") == "text")
    if error:
        check(result.isError, f"{name}: expected a tool error, got {text[:300]}")
        return text
    check(not result.isError, f"{name} failed: {text[:500]}")
    if result.structuredContent is not None:
        return result.structuredContent
    try:
        return json.loads(text)
    except ValueError:
        return text


def json_types(schema: dict, defs: dict) -> set[str]:
    """The JSON types a schema accepts (through `$ref`, `anyOf`, `oneOf`), `null` aside."""
    if "$ref" in schema:
        schema = defs[schema["$ref"].rsplit("/", 1)[-1]]
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            return set().union(*(json_types(s, defs) for s in schema[key]))
    t = schema.get("type", "any")
    return (set(t) if isinstance(t, list) else {t}) - {"null"}


def object_schema(schema: dict, defs: dict) -> dict | None:
    """The object schema behind a property (through `$ref`, `anyOf`, `allOf`), if it is one."""
    if "$ref" in schema:
        return object_schema(defs[schema["$ref"].rsplit("/", 1)[-1]], defs)
    for key in ("anyOf", "allOf"):
        for s in schema.get(key, []):
            found = object_schema(s, defs)
            if found:
                return found
    return schema if "properties" in schema else None


# The one argument taken more loosely than the official server's: wait_until_ready reads only
# the `id` of the data asset object it is given (any other field is ignored, so the official
# form, the whole object create_data_asset answered, is accepted: the job below passes it).
LOOSER = {("wait_until_ready", "data_asset")}


def check_types(name: str, official: dict, ours: dict) -> None:
    """Each official argument is accepted here with its JSON types, and so are the fields of
    an object argument; nothing optional there is required here."""
    odefs, udefs = official.get("$defs", {}), ours.get("$defs", ours.get("definitions", {}))
    for arg, oschema in official.get("properties", {}).items():
        uschema = ours["properties"][arg]
        want, got = json_types(oschema, odefs), json_types(uschema, udefs)
        check("any" in got or want <= got, f"{name}.{arg}: official types {want}, here {got}")
        oobj, uobj = object_schema(oschema, odefs), object_schema(uschema, udefs)
        if oobj and uobj and (name, arg) not in LOOSER:
            for field in oobj["properties"]:
                check(field in uobj["properties"], f"{name}.{arg}.{field} is not taken here")
            for field in uobj.get("required", []):
                check(field in oobj.get("required", []),
                      f"{name}.{arg}.{field} is required here, optional in the official server")


def step(name: str, detail: Any = "") -> None:
    print(f"ok   {name}" + (f": {detail}" if detail else ""), flush=True)


async def the_job(session: ClientSession, texts: Texts, download_dir: Path, token: str) -> None:
    official = json.loads(FIXTURE.read_text())
    listed = {t.name: t for t in (await session.list_tools()).tools}
    names = {t["name"] for t in official}
    check(len(names) == 32, f"the fixture has {len(names)} tools, not 32")
    missing = names - set(listed)
    check(not missing, f"official tools missing: {sorted(missing)}")
    check(EXTRA <= set(listed), f"extra tools missing: {sorted(EXTRA - set(listed))}")
    for tool in official:
        ours = listed[tool["name"]].inputSchema
        for arg in tool["inputSchema"].get("required", []):
            check(arg in ours.get("properties", {}), f"{tool['name']}: argument {arg!r} missing")
        for arg in tool["inputSchema"].get("properties", {}):
            check(arg in ours.get("properties", {}), f"{tool['name']}: argument {arg!r} missing")
        for arg in ours.get("required", []):
            check(arg in tool["inputSchema"].get("required", []),
                  f"{tool['name']}: {arg!r} is required here, optional in the official server")
        check_types(tool["name"], tool["inputSchema"], ours)
    for name in ("run_capsule", "wait_until_completed", "download_and_read_a_file_from_computation"):
        check(len(listed[name].description or "") > 60, f"{name}: no real description")
    step("tools/list", f"{len(listed)} tools, all 32 official ones with their arguments and types")

    # Search, in the compact form, one page at a time.
    page = await call(session, texts, "search_capsules", {"search_params": {"limit": 1}})
    check(set(page) >= {"items", "has_more", "next_token", "item_count"}, f"search answer {page}")
    check(page["item_count"] == len(page["items"]) == 1, f"limit 1 gave {page}")
    check(set(page["items"][0]) == {"id", "n", "s", "d", "t"}, f"compact item {page['items'][0]}")
    seen = [page["items"][0]["id"]]
    pages = 1
    while page["has_more"] and pages < 50:
        params = {"limit": 1}
        if page["next_token"]:
            params["next_token"] = page["next_token"]
        else:
            params["offset"] = len(seen)
        page = await call(session, texts, "search_capsules", {"search_params": params})
        seen += [i["id"] for i in page["items"]]
        pages += 1
    check(CAPSULE_OK in seen, f"capsule {CAPSULE_OK} not found in {pages} pages: {seen}")
    named = await call(session, texts, "search_capsules",
                       {"search_params": {"limit": 5}, "include_field_names": True})
    check(named.get("field_names", {}).get("n") == "name", f"field_names {named.get('field_names')}")
    step("search_capsules", f"{len(seen)} capsules over {pages} pages of 1, compact form")

    cap = await call(session, texts, "get_capsule", {"capsule_id": CAPSULE_OK})
    check(cap["id"] == CAPSULE_OK, f"get_capsule {cap}")
    panel = await call(session, texts, "get_capsule_app_panel", {"capsule_id": CAPSULE_OK})
    check(isinstance(panel, dict), f"app panel {panel!r}")
    step("get_capsule + get_capsule_app_panel", cap.get("name"))

    err = await call(session, texts, "get_capsule", {"capsule_id": MISSING}, error=True)
    check("404" in err, f"missing capsule: {err}")
    step("get_capsule (missing) is a tool error", err[:120])

    comp = await call(session, texts, "run_capsule", {"run_params": {
        "capsule_id": CAPSULE_OK,
        "data_assets": [{"id": INPUT_ASSET, "mount": "reference"}],
        "named_parameters": [{"param_name": "greeting", "value": "hello from mcp_check.py"}],
    }})
    check(bool(comp.get("id")), f"run answer {comp}")
    step("run_capsule", comp["id"])

    short = await call(session, texts, "wait_until_completed",
                       {"computation_id": comp["id"], "timeout": 0.001}, error=True)
    check("wait_until_completed" in short, f"a short wait says how to go on: {short}")
    done = await call(session, texts, "wait_until_completed",
                      {"computation_id": comp["id"], "timeout": 120, "polling_interval": 0.2})
    check(done["state"] == "completed" and done.get("end_status") == "succeeded", f"final {done}")
    step("wait_until_completed", f"a 1 ms wait gives up; then {done['state']}/{done['end_status']}")

    listing = await call(session, texts, "list_computation_results", {"computation_id": comp["id"]})
    items = listing["items"]
    files = {i["path"]: i.get("size") for i in items if i["type"] == "file"}
    check(bool(files), f"no result files: {items}")
    step("list_computation_results", f"{len(items)} items")

    some = "output.txt" if "output.txt" in files else sorted(files)[0]
    urls = await call(session, texts, "get_result_file_urls",
                      {"computation_id": comp["id"], "file_path": some})
    body = httpx.get(urls["download_url"], timeout=30).content
    read = await call(session, texts, "download_and_read_a_file_from_computation",
                      {"computation_id": comp["id"], "file_path": some})
    check(read["truncated"] is False, f"{some} flagged truncated: {read}")
    check(read["result"] == body.decode("utf-8", "replace"), f"{some}: read text differs from the file")
    step("download_and_read_a_file_from_computation", f"{some}: {len(body)} bytes, whole")

    download = await call(session, texts, "download_results",
                          {"computation_id": comp["id"], "folder": "results"})
    check(download["complete"] is True and not download["failed"], f"download {download}")
    root = download_dir / "results"
    total = 0
    # Every file of the tree, at every depth, compared with its signed URL's bytes.
    expected: dict[str, bytes] = {}
    # (The download's own resume state, `.codeocean-download/`, is no result file.)
    on_disk = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    for path in [p for p in on_disk if not p.startswith(".codeocean-download/")]:
        got = (root / path).read_bytes()
        u = await call(session, texts, "get_result_file_urls", {"computation_id": comp["id"], "file_path": path})
        want = httpx.get(u["download_url"], timeout=30).content
        check(got == want, f"{path}: downloaded bytes differ ({len(got)} vs {len(want)})")
        expected[path] = got
        total += len(got)
    for path, size in files.items():
        check(path in expected, f"{path} (listed at the top) was not downloaded")
        check(size is None or size == len(expected[path]), f"{path}: size {len(expected[path])}, listed {size}")
    check(download["bytes"] == total, f"summary says {download['bytes']} bytes, files hold {total}")
    again = await call(session, texts, "download_results", {"computation_id": comp["id"], "folder": "results"})
    check(again["downloaded"] == 0 and again["skipped"] == len(expected), f"second download {again}")
    step("download_results", f"{len(expected)} files, {total} bytes, each equal to its URL's; a re-run skips all")

    escape = await call(session, texts, "download_results",
                        {"computation_id": comp["id"], "folder": "../outside"}, error=True)
    check("download" in escape, f"escaping folder: {escape}")
    step("download_results refuses a folder outside --download-dir", escape[:100])

    asset = await call(session, texts, "create_data_asset", {"data_asset_params": {
        "name": "mcp_check results", "mount": "mcp-results", "tags": ["mcp", "sim"],
        "source": {"computation": {"id": comp["id"]}},
    }})
    check(bool(asset.get("id")), f"create answer {asset}")
    ready = await call(session, texts, "wait_until_ready",
                       {"data_asset": asset, "timeout": 120, "polling_interval": 0.2})
    check(ready["state"] == "ready", f"asset {ready}")
    asset_files = await call(session, texts, "list_data_asset_files", {"data_asset_id": asset["id"]})
    check(bool(asset_files["items"]), f"asset files {asset_files}")
    found = await call(session, texts, "search_data_assets", {"search_params": {"query": "mcp_check"}})
    check(asset["id"] in {i["id"] for i in found["items"]}, f"search_data_assets {found}")
    got = await call(session, texts, "download_data_asset", {"data_asset_id": asset["id"], "folder": "asset"})
    check(got["complete"] is True and got["bytes"] > 0, f"download_data_asset {got}")
    step("create_data_asset + wait_until_ready + download_data_asset",
         f"{asset['id']} {ready['state']}, {got['downloaded']} files")


async def main_async(opts: argparse.Namespace) -> None:
    token, domain = opts.token, opts.domain
    env = {"PATH": os.environ.get("PATH", ""), "CODEOCEAN_DOMAIN": domain, "CODEOCEAN_TOKEN": token,
           "HOME": os.environ.get("HOME", "/tmp")}
    texts = Texts()
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        download_dir = work / "downloads"
        log = work / "server.log"
        with log.open("w") as errlog:
            async with stdio_client(StdioServerParameters(
                command=opts.bin, args=["mcp", "--download-dir", str(download_dir)], env=env,
            ), errlog=errlog) as (read, write):
                async with ClientSession(read, write) as session:
                    init = await session.initialize()
                    check("search_capsules" in (init.instructions or ""), f"instructions {init.instructions!r}")
                    step("initialize (stdio)", f"{init.serverInfo.name} {init.serverInfo.version}")
                    await the_job(session, texts, download_dir, token)

            # A capped read: a server allowed 5 bytes per read.
            async with stdio_client(StdioServerParameters(
                command=opts.bin, args=["mcp", "--read-only", "--max-read-bytes", "5"], env=env,
            ), errlog=errlog) as (read, write):
                async with ClientSession(read, write) as session:
                    await session.initialize()
                    listed = {t.name for t in (await session.list_tools()).tools}
                    shown = MUTATING & listed
                    check(not shown, f"--read-only lists mutating tools: {sorted(shown)}")
                    official = {t["name"] for t in json.loads(FIXTURE.read_text())}
                    check(official - MUTATING <= listed, f"--read-only hides too much: {sorted(official - MUTATING - listed)}")
                    refused = await call(session, texts, "run_capsule",
                                         {"run_params": {"capsule_id": CAPSULE_OK}}, error=True)
                    check("read-only" in refused, f"refusal says why: {refused}")
                    step("--read-only", f"{len(listed)} tools, none mutating; run_capsule refused")
                    runs = await call(session, texts, "list_computations", {"capsule_id": CAPSULE_OK})
                    runs = runs if isinstance(runs, list) else runs.get("result", runs)
                    done = [r for r in runs if r.get("has_results")]
                    check(bool(done), f"no computation with results: {runs}")
                    listing = await call(session, texts, "list_computation_results",
                                         {"computation_id": done[0]["id"]})
                    big = [i for i in listing["items"] if i["type"] == "file" and (i.get("size") or 0) > 5]
                    check(bool(big), f"no file above 5 bytes: {listing}")
                    cut = await call(session, texts, "download_and_read_a_file_from_computation",
                                     {"computation_id": done[0]["id"], "file_path": big[0]["path"]})
                    check(cut["truncated"] is True and 2 <= cut["bytes"] <= 5, f"capped read {cut}")
                    step("--max-read-bytes 5", f"{big[0]['path']} ({big[0]['size']} bytes) read as 5, truncated")

        # Streamable HTTP: the token comes from each session's Authorization header only.
        http_env = {k: v for k, v in env.items() if k != "CODEOCEAN_TOKEN"}
        http_log = work / "http.log"
        with http_log.open("w") as errlog:
            proc = subprocess.Popen([opts.bin, "mcp", "--transport", "http", "--port", "0",
                                     "--download-dir", str(download_dir)],
                                    env=http_env, stdout=subprocess.DEVNULL, stderr=errlog)
            try:
                url = None
                for _ in range(200):
                    m = re.search(r"listening on (http://\S+/mcp)", http_log.read_text())
                    if m:
                        url = m.group(1)
                        break
                    check(proc.poll() is None, f"the HTTP server exited: {http_log.read_text()}")
                    time.sleep(0.05)
                check(url is not None, f"no 'listening on' line: {http_log.read_text()}")
                headers = {"Authorization": f"Bearer {token}"}
                async with httpx.AsyncClient(headers=headers, timeout=60) as http:
                    async with streamable_http_client(url, http_client=http) as (read, write, _):
                        async with ClientSession(read, write) as session:
                            await session.initialize()
                            listed = {t.name for t in (await session.list_tools()).tools}
                            check("run_capsule" in listed, "run_capsule not listed over HTTP")
                            page = await call(session, texts, "search_capsules",
                                              {"search_params": {"query": f"id:{CAPSULE_OK}"}})
                            check(isinstance(page["items"], list), f"HTTP search {page}")
                            comp = await call(session, texts, "run_capsule",
                                              {"run_params": {"capsule_id": CAPSULE_OK}})
                            done = await call(session, texts, "wait_until_completed",
                                              {"computation_id": comp["id"], "timeout": 120,
                                               "polling_interval": 0.2})
                            check(done["state"] == "completed", f"HTTP wait {done}")
                            listing = await call(session, texts, "list_computation_results",
                                                 {"computation_id": comp["id"]})
                            check(bool(listing["items"]), "HTTP: no results")
                            step("streamable HTTP with Authorization: Bearer",
                                 f"{url}: search, run, wait ({done['end_status']}), list")
                async with httpx.AsyncClient(timeout=60) as http:
                    async with streamable_http_client(url, http_client=http) as (read, write, _):
                        async with ClientSession(read, write) as session:
                            await session.initialize()
                            err = await call(session, texts, "get_capsule", {"capsule_id": CAPSULE_OK},
                                             error=True)
                            check("Authorization" in err, f"no-token error says what to send: {err}")
                            step("streamable HTTP without a token is a tool error", err[:100])
                async with httpx.AsyncClient(headers={"Authorization": "Bearer wrong-token-x"}, timeout=60) as http:
                    async with streamable_http_client(url, http_client=http) as (read, write, _):
                        async with ClientSession(read, write) as session:
                            await session.initialize()
                            err = await call(session, texts, "get_capsule", {"capsule_id": CAPSULE_OK},
                                             error=True)
                            check("401" in err, f"a wrong token: {err}")
                            check("wrong-token-x" not in err, f"the session's token is shown: {err}")
                            step("streamable HTTP with a wrong token: HTTP 401 tool error", err[:100])
            finally:
                proc.terminate()
                proc.wait(timeout=10)

        check(not CLIENT_WARNINGS.messages, f"the MCP client warned: {CLIENT_WARNINGS.messages}")
        logs = log.read_text() + http_log.read_text()
        check(token not in logs, "the token is in the server's log")
        check(all(token not in t for t in texts.all), "the token is in a tool result")
        step("no token anywhere", f"{len(texts.all)} tool results and {len(logs)} bytes of server log")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", required=True, help="the codeocean binary")
    parser.add_argument("--domain", default=os.environ.get("CODEOCEAN_DOMAIN"))
    parser.add_argument("--token", default=os.environ.get("CODEOCEAN_TOKEN"))
    opts = parser.parse_args()
    if not opts.domain or not opts.token:
        parser.error("needs --domain and --token (or CODEOCEAN_DOMAIN and CODEOCEAN_TOKEN)")
    try:
        asyncio.run(main_async(opts))
    except BaseException as e:  # noqa: BLE001 - a failure inside the client's task groups
        leaves = [e]
        while any(isinstance(x, BaseExceptionGroup) for x in leaves):
            leaves = [y for x in leaves for y in (x.exceptions if isinstance(x, BaseExceptionGroup) else [x])]
        failures = [x for x in leaves if isinstance(x, Failure)]
        if not failures:
            raise
        for f in failures:
            print(f"FAIL {f}", flush=True)
        return 1
    print("mcp checks passed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
