#!/usr/bin/env python3
"""Time the dashboard query suite on a Ballista cluster of logq processes against a local run.

The suite and the warehouse are those of `queries_vs_duckdb.py` (2 GiB of generated
CloudFront logs over 7 days, built the same way when missing). Each query runs as
`logq sql --no-reuse --quiet --format csv QUERY`, a child process timed from start to exit,
in these set-ups, one after the other on this machine:

  * local: no cluster;
  * one executor (`logq executor --concurrency C`), with `logq scheduler`;
  * two executors of --concurrency C each, with the same scheduler.

In cluster mode the query is planned and priced by the `logq sql` process and runs on the
executors, planned for as many partitions as the cluster has task slots (`[cluster]
partitions` in a logq.toml written for the run). Every answer is compared with the local one.
The table gives the best of --repeat runs per query and set-up, and the suite's total.

Usage (from the repo root, after `cargo build --release --features cluster`):
  python3 benches/cluster_vs_local.py
  python3 benches/cluster_vs_local.py --repeat 5 --concurrency 1
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import partition_vs_duckdb as shared  # noqa: E402
import queries_vs_duckdb as queries  # noqa: E402

REPO = shared.REPO


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port: int, what: str) -> None:
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise shared.BenchError(f"{what} did not listen on {port}")


class Cluster:
    def __init__(self, logq: Path, executors: int, concurrency: int, logs: Path):
        self.procs: list[subprocess.Popen] = []
        port = free_port()
        self.address = f"127.0.0.1:{port}"
        self.spawn(logq, ["scheduler", "--port", str(port)], logs / "scheduler.log")
        wait_for(port, "the scheduler")
        for n in range(executors):
            flight, tasks = free_port(), free_port()
            self.spawn(logq, ["executor", "--scheduler", self.address, "--port", str(flight),
                              "--grpc-port", str(tasks), "--concurrency", str(concurrency)],
                       logs / f"executor-{n}.log")
            wait_for(flight, "an executor")
            wait_for(tasks, "an executor")
        time.sleep(2)  # every executor registered and heard from

    def spawn(self, logq: Path, args: list[str], log: Path) -> None:
        out = open(log, "w")
        self.procs.append(subprocess.Popen([str(logq)] + args, stdout=subprocess.DEVNULL, stderr=out))

    def stop(self) -> None:
        for p in self.procs:
            p.kill()
            p.wait()


def run(logq: Path, warehouse: Path, sql: str, env: dict[str, str]) -> tuple[float, list[tuple]]:
    cmd = [str(logq), "sql", "--quiet", "--no-reuse", "--warehouse", str(warehouse), "--format", "csv", sql]
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise shared.BenchError(f"logq failed on {sql!r}:\n{done.stderr}")
    return elapsed, queries.normalise(queries.parse_csv(done.stdout))


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--logq", type=Path, default=REPO / "target" / "release" / "logq")
    p.add_argument("--work", type=Path, default=REPO / "target" / "bench-data")
    p.add_argument("--warehouse", type=Path, help="default: <work>/wh-logq-cloudfront")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--concurrency", type=int, default=2, help="task slots per executor")
    args = p.parse_args(argv)
    args.work = args.work.resolve()
    args.warehouse = (args.warehouse or args.work / "wh-logq-cloudfront").resolve()
    try:
        warehouse = queries.ensure_warehouse(args)
    except shared.BenchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    files = list((warehouse / "cloudfront").rglob("*.parquet"))
    for f in files:
        f.read_bytes()
    print(f"warehouse {warehouse}: {len(files)} files, "
          f"{sum(f.stat().st_size for f in files) / (1 << 20):.0f} MiB; {os.cpu_count()} cores; "
          f"executors of {args.concurrency} task slots; best of {args.repeat}", file=sys.stderr)

    setups = [("local", 0), ("1 executor", 1), ("2 executors", 2)]
    best: dict[str, dict[str, float]] = {name: {} for name, _ in setups}
    local_answers: dict[str, list[tuple]] = {}
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for label, executors in setups:
            env = {"PATH": "/usr/bin:/bin", "LOGQ_CACHE_DIR": str(tmp / "cache")}
            cluster = None
            if executors:
                cluster = Cluster(args.logq, executors, args.concurrency, tmp)
                config = tmp / f"logq-{executors}.toml"
                config.write_text(f'[cluster]\naddress = "{cluster.address}"\n'
                                  f"partitions = {executors * args.concurrency}\n")
                env["LOGQ_CONFIG"] = str(config)
            try:
                for name, sql in queries.SUITE:
                    times = []
                    for _ in range(args.repeat):
                        t, answer = run(args.logq, warehouse, sql, env)
                        times.append(t)
                    best[label][name] = min(times)
                    if executors == 0:
                        local_answers[name] = answer
                    elif answer != local_answers[name]:
                        print(f"DIFFERENT ANSWER on {label}: {name}", file=sys.stderr)
                        ok = False
            except shared.BenchError as e:
                print(f"error: {e}", file=sys.stderr)
                return 1
            finally:
                if cluster:
                    cluster.stop()

    print(f"{'query':<40} " + " ".join(f"{label:>12}" for label, _ in setups))
    for name, _ in queries.SUITE:
        print(f"{name:<40} " + " ".join(f"{best[label][name]:>12.3f}" for label, _ in setups))
    totals = {label: sum(best[label].values()) for label, _ in setups}
    print(f"{'suite total (s)':<40} " + " ".join(f"{totals[label]:>12.3f}" for label, _ in setups))
    print(f"{'ratio to local':<40} " + " ".join(f"{totals[label] / totals['local']:>12.2f}" for label, _ in setups))
    print("answers: " + ("all equal to local" if ok else "SOME DIFFER"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
