#!/usr/bin/env python3
"""Download a computation's whole result tree with the official Python SDK (`codeocean` 0.17.0),
written the way its documentation leads a user: the SDK's own calls for listing folders
(`computations.list_computation_results`) and for signed URLs (`computations.get_result_file_urls`),
and `requests` (streamed to disk, one session per thread) for the file bodies, which the SDK does
not download itself. Run by `cargo xtask bench` (xtask/src/bench/), as a child process.

Usage:
    python_tree.py COMPUTATION_ID DEST_DIR [--threads N]

The domain and token come from $CODEOCEAN_DOMAIN and $CODEOCEAN_TOKEN. `--threads 1` (the
default) walks and downloads sequentially; `--threads N` uses a
`concurrent.futures.ThreadPoolExecutor(N)` for the folder listings (level by level) and for the
files (URL + body), the best a Python user would plausibly write. Prints `FILES BYTES`.
"""

from __future__ import annotations

import argparse
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import requests

from codeocean import CodeOcean

CHUNK = 1 << 20
_local = threading.local()


def storage_session() -> requests.Session:
    """One plain `requests` session per thread for the signed URLs (no Code Ocean auth)."""
    session = getattr(_local, "session", None)
    if session is None:
        session = _local.session = requests.Session()
    return session


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("computation")
    ap.add_argument("dest")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    co = CodeOcean(domain=os.environ["CODEOCEAN_DOMAIN"], token=os.environ["CODEOCEAN_TOKEN"])
    cs = co.computations

    def list_folder(path: str):
        return cs.list_computation_results(args.computation, path=path).items

    def fetch(item) -> int:
        target = os.path.join(args.dest, *item.path.split("/"))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        url = cs.get_result_file_urls(args.computation, item.path).download_url
        written = 0
        with storage_session().get(url, stream=True, timeout=60) as res:
            res.raise_for_status()
            with open(target, "wb") as out:
                for chunk in res.iter_content(CHUNK):
                    out.write(chunk)
                    written += len(chunk)
        if written != item.size:
            raise RuntimeError(f"{item.path}: got {written} bytes, the listing says {item.size}")
        return written

    files = []
    if args.threads <= 1:
        pending = [""]
        while pending:
            for item in list_folder(pending.pop()):
                (pending.append(item.path) if item.type == "folder" else files.append(item))
        total = sum(fetch(f) for f in files)
    else:
        with ThreadPoolExecutor(args.threads) as pool:
            level = [""]
            while level:
                next_level = []
                for items in pool.map(list_folder, level):
                    for item in items:
                        (next_level.append(item.path) if item.type == "folder" else files.append(item))
                level = next_level
            total = sum(pool.map(fetch, files))
    print(len(files), total)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
