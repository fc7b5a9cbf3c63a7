#!/usr/bin/env python3
"""Get one computation N times in a row with the official Python SDK (`codeocean` 0.17.0):
`computations.get_computation` on one `CodeOcean` client. The Python side of the "CPU per API
call" case of `cargo xtask bench` (xtask/src/bench/calls.rs), which counts this process's
instructions under callgrind for two values of N and divides the difference.

Usage:
    python_calls.py COMPUTATION_ID N

The domain and token come from $CODEOCEAN_DOMAIN and $CODEOCEAN_TOKEN. Prints the last state.
"""

from __future__ import annotations

import os
import sys

from codeocean import CodeOcean


def main() -> int:
    computation, n = sys.argv[1], int(sys.argv[2])
    co = CodeOcean(domain=os.environ["CODEOCEAN_DOMAIN"], token=os.environ["CODEOCEAN_TOKEN"])
    state = None
    for _ in range(n):
        state = co.computations.get_computation(computation).state
    print(state)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
