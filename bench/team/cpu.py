"""Where a worker's CPU goes, per kind of request: the team benchmark's operations (the same
seeded mix as bench/team/run.py) sent straight into the application in this process, one at a
time, without a network or a server, with the CPU time of this process measured around each.

The database's own CPU is not counted (it is another process); the time the application waits for
it is not CPU either. So this is the application's share of the cost of a request, the part that
bounds what 4 worker processes on 2 cores can serve. Run it on a quiet machine: on a busy one the
CPU time of the same work grows.

    .venv/bin/python bench/team/cpu.py                 # the register bench/team/run.py uses
    .venv/bin/python bench/team/cpu.py --operations 2000 --kinds "project detail,projects list"

It needs the register made by bench/team/run.py (or bench/run.py) on PostgreSQL; it makes its
own token for the bench's editor user and revokes it at the end. Printed, not written to
bench/RESULTS.md: the team section there is the verdict; this is the guide to where to look.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as team  # noqa: E402  (bench/team/run.py: the register, the mix, the editor's token)


class Direct:
    """HTTP requests as ASGI calls into ``app`` (no sockets, no server)."""

    def __init__(self, app: Any, token: str) -> None:
        self.app = app
        self.auth = (b"authorization", f"Bearer {token}".encode())

    async def call(self, method: str, path: str, body: bytes = b"",
                   headers: tuple[tuple[bytes, bytes], ...] = ()) -> tuple[int, dict[str, str], bytes]:
        route, _, query = path.partition("?")
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
                 "scheme": "http", "path": route, "raw_path": route.encode(), "query_string": query.encode(),
                 "root_path": "", "headers": [(b"host", b"bench"), self.auth, *headers],
                 "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80), "state": {}}
        messages: list[dict[str, Any]] = []
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.sleep(3600)  # the client never disconnects
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            messages.append(message)

        await self.app(scope, receive, send)
        start = next(m for m in messages if m["type"] == "http.response.start")
        answer = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
        return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}, answer


async def measure(url: str, token: str, operations: int, kinds: set[str] | None, seed: int,
                  write_share: float, profile: Any = None) -> dict[str, list[float]]:
    from cooptrack.store import Store
    from cooptrack.web.app import create_app

    reg = team.load_register(url)
    picker = team.Picker(reg, seed, write_share, team.READ_MIX, team.WRITE_MIX)
    ops = [picker.operation() for _ in range(operations)]
    if kinds:
        ops = [op for op in ops if op[0] in kinds]
    store = Store(url)
    app = create_app(store, public_read=False)
    client = Direct(app, token)
    spent: dict[str, list[float]] = {}
    async with app.router.lifespan_context(app):
        for _kind, path in ops[:50]:  # routes and statements prepared, rate table built: not counted
            await client.call("GET", path)
        if profile is not None:
            profile.enable()
        for n, (kind, path) in enumerate(ops):
            started = time.process_time()
            status, headers, body = await client.call("GET", path)
            if status != 200:
                raise RuntimeError(f"GET {path}: {status} {body[:300]!r}")
            if kind.startswith("edit"):
                now = time.process_time()
                spent.setdefault(f"{kind}: the GET", []).append(now - started)
                started = now
                field = "description" if "project" in kind else "note"
                patch = json.dumps({field: f"cpu bench {n} {time.time()}"}).encode()
                status, _, body = await client.call("PATCH", path, patch, (
                    (b"if-match", headers["etag"].encode()), (b"content-type", b"application/json")))
                if status != 200:
                    raise RuntimeError(f"PATCH {path}: {status} {body[:300]!r}")
                kind = f"{kind}: the PATCH"
            spent.setdefault(kind, []).append(time.process_time() - started)
        if profile is not None:
            profile.disable()
    store.dispose()
    return spent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres-url", default=os.environ.get("COOPTRACK_BENCH_POSTGRES_URL", team.DEFAULT_URL))
    parser.add_argument("--operations", type=int, default=1000, help="operations drawn (default 1000)")
    parser.add_argument("--kinds", help="only these kinds, comma-separated (as the report names them)")
    parser.add_argument("--load-seed", type=int, default=6)
    parser.add_argument("--write-share", type=float, default=0.10)
    parser.add_argument("--cache", choices=("on", "off"), default="on", help="the response cache (default on)")
    parser.add_argument("--profile", metavar="FILE", help="also write a cProfile of the measured requests to FILE "
                        "(read it with `python -m pstats FILE`; the profiler adds its own cost to the figures)")
    args = parser.parse_args(argv)
    profile = cProfile.Profile() if args.profile else None
    os.environ["COOPTRACK_RESPONSE_CACHE"] = args.cache
    token_id, token = team.editor_token(args.postgres_url)
    try:
        kinds = {k.strip() for k in args.kinds.split(",")} if args.kinds else None
        spent = asyncio.run(measure(args.postgres_url, token, args.operations, kinds, args.load_seed,
                                    args.write_share, profile))
        if profile is not None:
            profile.dump_stats(args.profile)
    finally:
        team.cli(args.postgres_url, "token", "revoke", str(token_id))
    every = [s for values in spent.values() for s in values]
    print(f"Application CPU per request, in this process (response cache {args.cache}); "
          f"{len(every)} requests, seed {args.load_seed}\n")
    print("| request | n | mean ms | p50 ms | p95 ms |")
    print("|---|---:|---:|---:|---:|")
    for kind, values in sorted(spent.items()) + [("every request (the mix)", every)]:
        ordered = sorted(values)
        print(f"| {kind} | {len(values)} | {1000 * sum(values) / len(values):.2f} | "
              f"{1000 * ordered[len(ordered) // 2]:.2f} | {1000 * ordered[int(len(ordered) * 0.95)]:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
