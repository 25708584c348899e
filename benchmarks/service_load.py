"""Load benchmark of `semrec serve --workers 2` on the MovieLens-100K EASE artifact (loopback only, bounded).

Drives the real server process (``--workers``, default 2) with wrk (C load generator;
`apt-get install wrk`):

* ``GET /health`` at 50 connections: the framework floor, the baseline of this run;
* ``POST /recommend`` for random known users, k = 10, by 50 concurrent clients that each wait a
  random think time (uniform, mean ``--think-ms`` = 200 ms) between their requests (about 240
  requests/s offered): the latency a service with 50 active clients sees;
* ``POST /recommend`` by 50 clients back to back (no think time): the saturation throughput,
  where latency is queueing (about 50 / throughput by Little's law);
* ``POST /feedback`` in batches of 100 events at 8 connections: the sustained event rate,
  then a loss check (events in the store == events acknowledged);
* abuse: one client (``X-Forwarded-For: 10.0.0.66``; uvicorn trusts it from loopback) floods
  ``POST /feedback`` with single events back to back on 8 connections while a polite client
  (``10.0.0.7``, 4 connections, mean think time 100 ms) writes too: the flooder gets 429 above
  its write rate (``--write-rate``, the service's default 500/s), the polite client none, and the
  store holds exactly what was acknowledged.

Usage: python benchmarks/service_load.py [--model artifacts/ml-100k-ease] [--seconds 15] [--workers 2]
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from semrec.serving.store import Store
from semrec.testing import KEY, Server

RECOMMEND_LUA = """
math.randomseed(42)
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  return wrk.format(nil, "/recommend", nil, '{"user_id":"' .. math.random(1, 943) .. '","k":10}')
end
"""

THINK_LUA = (
    RECOMMEND_LUA
    + """
delay = function()
  return math.random(%d, %d)
end
"""
)

FEEDBACK_LUA = (
    """
math.randomseed(7)
counter = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-API-Key"] = "%s"
request = function()
  counter = counter + 1
  local parts = {}
  for i = 1, 100 do
    parts[i] = string.format('{"user_id":"%%d","item_id":"%%d","type":"click","event_id":"w%%d-%%d"}',
                             math.random(1, 943), math.random(1, 1682), counter, i)
  end
  return wrk.format(nil, "/feedback", nil, '{"events":[' .. table.concat(parts, ",") .. ']}')
end
"""
    % KEY
)


STATUS_LUA = """
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) ok = 0; limited = 0; other = 0; retry_after = "" end
function response(status, headers, body)
  if status == 200 then ok = ok + 1
  elseif status == 429 then
    limited = limited + 1
    retry_after = headers["retry-after"] or headers["Retry-After"] or "missing"
  else other = other + 1 end
end
function done(summary, latency, requests)
  for _, t in ipairs(threads) do
    io.write(string.format("statuses: ok %d limited %d other %d retry-after %s\\n",
                           t:get("ok"), t:get("limited"), t:get("other"), t:get("retry_after")))
  end
end
"""

WRITER_LUA = """
counter = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-API-Key"] = "%s"
wrk.headers["X-Forwarded-For"] = "%s"
request = function()
  counter = counter + 1
  return wrk.format(nil, "/feedback", nil,
    string.format('{"user_id":"%s","item_id":"%%d","type":"click","event_id":"%s-%%d"}',
                  1 + counter %% 1682, counter))
end
"""


def writer(address: str, user: str, think_ms: int | None) -> str:
    script = WRITER_LUA % (KEY, address, user, user) + STATUS_LUA
    if think_ms:
        script += f"\ndelay = function() return math.random({think_ms // 2}, {think_ms * 3 // 2}) end\n"
    return script


def wrk(url: str, connections: int, seconds: int, script: str | None, workdir: Path) -> dict[str, float]:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "5s"]
    if script:
        path = workdir / f"script{abs(hash(script))}.lua"
        path.write_text(script)
        command += ["-s", str(path)]
    out = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    return parse(out)


def start_wrk(url: str, connections: int, seconds: int, script: str, workdir: Path, name: str):
    path = workdir / f"{name}.lua"
    path.write_text(script)
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "5s", "-s", str(path)]
    return subprocess.Popen([*command, url], stdout=subprocess.PIPE, text=True)


def parse(out: str) -> dict[str, float]:

    def latency(label: str) -> float:
        match = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        value, unit = float(match.group(1)), match.group(2)
        return value * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    statuses = re.search(r"statuses: ok (\d+) limited (\d+) other (\d+) retry-after (\S*)", out)
    return {
        "ok": int(statuses.group(1)) if statuses else -1,
        "limited": int(statuses.group(2)) if statuses else -1,
        "other": int(statuses.group(3)) if statuses else -1,
        "retry_after": statuses.group(4) if statuses else "",
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),
        "p50_ms": latency("50%"),
        "p99_ms": latency("99%"),
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": sum(map(int, errors.groups())) if errors else 0,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=Path("artifacts/ml-100k-ease"))
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--think-ms", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--write-rate", type=float, default=500.0, help="the service's per-client write limit")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is missing: apt-get install wrk", file=sys.stderr)
        return 2
    if not (args.model / "manifest.json").exists():
        print(f"{args.model} missing: run `make demo` (or semrec fit) first", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        model = work / "model"
        shutil.copytree(args.model, model)
        db = f"sqlite:///{work / 'events.db'}"
        server = Server(model, db, workers=args.workers, options=["--write-rate", str(args.write_rate)])
        try:
            health = wrk(server.url + "/health", 50, args.seconds, None, work)
            wrk(server.url + "/recommend", 50, 3, RECOMMEND_LUA, work)  # warm-up, not reported
            think = THINK_LUA % (args.think_ms // 2, args.think_ms * 3 // 2)
            clients = wrk(server.url + "/recommend", 50, args.seconds, think, work)
            recommend = wrk(server.url + "/recommend", 50, args.seconds, RECOMMEND_LUA, work)
            before = Store(db).count_events()
            feedback = wrk(server.url + "/feedback", 8, args.seconds, FEEDBACK_LUA, work)
            stored = Store(db).count_events() - before
            flood = start_wrk(server.url + "/feedback", 8, args.seconds, writer("10.0.0.66", "flood", None), work, "f")
            polite = start_wrk(server.url + "/feedback", 4, args.seconds, writer("10.0.0.7", "polite", 100), work, "p")
            flooded, politely = parse(flood.communicate()[0]), parse(polite.communicate()[0])
            store = Store(db)
            stored_flood, stored_polite = len(store.history("flood")), len(store.history("polite"))
        finally:
            server.stop()
    acknowledged = (feedback["requests"] - feedback["non_2xx"]) * 100
    print("| endpoint | connections | requests/s | p50 ms | p99 ms | non-2xx | socket errors |")
    print("|---|---|---|---|---|---|---|")
    for name, conns, r in (
        ("GET /health (baseline)", 50, health),
        (f"POST /recommend k=10, 50 clients, mean think time {args.think_ms} ms", 50, clients),
        ("POST /recommend k=10, back to back (saturation)", 50, recommend),
        ("POST /feedback x100 events", 8, feedback),
    ):
        print(
            f"| {name} | {conns} | {r['rps']:,.0f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | "
            f"{r['non_2xx']} | {r['socket_errors']} |"
        )
    for name, conns, r in (
        ("POST /feedback x1, flooding client (10.0.0.66), back to back", 8, flooded),
        ("POST /feedback x1, polite client (10.0.0.7), mean think time 100 ms", 4, politely),
    ):
        print(
            f"| {name} | {conns} | {r['rps']:,.0f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | "
            f"{r['non_2xx']} ({r['limited']} x 429) | {r['socket_errors']} |"
        )
    print(f"\nworkers: {args.workers}; write rate limit {args.write_rate:g}/s per client")
    print(
        f"flooder: {flooded['ok']:,} acknowledged ({flooded['ok'] / args.seconds:,.0f}/s), {flooded['limited']:,} "
        f"refused with 429 (Retry-After {flooded['retry_after'] or '-'}), {flooded['other']} other; "
        f"stored {stored_flood:,}"
    )
    print(
        f"polite: {politely['ok']:,} acknowledged, {politely['limited']} refused with 429, {politely['other']} other; "
        f"stored {stored_polite:,}"
    )
    print(f"\n/recommend throughput = {recommend['rps'] / health['rps']:.2f} x the /health baseline")
    print(
        f"/feedback: {feedback['rps'] * 100:,.0f} events/s sustained; {stored:,} stored vs >= {acknowledged:,} "
        f"acknowledged (wrk counts only completed responses): {'no loss' if stored >= acknowledged else 'LOSS'}"
    )
    # wrk stops with requests in flight: those may be stored without their answer being counted
    exact = 0 <= stored_flood - flooded["ok"] <= 8 and 0 <= stored_polite - politely["ok"] <= 4
    print(f"abuse phase: every acknowledged event stored, none beyond the requests in flight: {exact}")
    return 0 if stored >= acknowledged and exact else 1


if __name__ == "__main__":
    sys.exit(main())
