#!/usr/bin/env python3
"""Benchmark typical dashboard queries: `logq sql` against DuckDB over the same Parquet files.

The warehouse is the one `partition_vs_duckdb.py` writes (`<work>/wh-logq-cloudfront`, 2 GiB
of generated CloudFront logs over 7 days); the script builds it the same way when it is
missing. Each query of the suite below runs --repeat times per engine, alternating:

  * logq: `logq sql --no-reuse --quiet --format csv QUERY` as a child process, timed from
    process start to its exit after the last byte of output: reading the snapshot,
    registering the tables, planning, pricing the scan from the footers, running, printing.
  * DuckDB: in this Python process, a new connection per run (so no metadata cached from the
    previous run), a view over `read_parquet(<wh>/cloudfront/*/*.parquet, hive_partitioning)`,
    then `execute(QUERY).fetchall()`. Python's and DuckDB's own start-up (about 0.1 s for
    `import duckdb`) is not counted, which favours DuckDB.

Both run on every core with a warm page cache, and their answers are compared row by row
(numbers rounded to 6 significant digits). The table reports best and median seconds per
engine and the ratio logq/DuckDB (below 1: logq is faster).

Then it measures the repeated query answered from a stored result: `logq sql` (reuse on, its
own cache folder) run once to store the result, then --repeat times end to end.

Usage (from the repo root, after `cargo build --release`):
  python3 benches/queries_vs_duckdb.py --venv
  python3 benches/queries_vs_duckdb.py --venv --repeat 10 --warehouse path/to/warehouse
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import partition_vs_duckdb as shared  # noqa: E402

REPO = shared.REPO

# name, SQL (the same text runs on both engines)
SUITE = [
    ("requests and bytes by day",
     "SELECT dt, count(*) AS requests, sum(sc_bytes) AS bytes FROM cloudfront GROUP BY dt ORDER BY dt"),
    ("top client IPs",
     "SELECT c_ip, count(*) AS n FROM cloudfront GROUP BY c_ip ORDER BY n DESC, c_ip LIMIT 10"),
    ("status by hour, one day",
     "SELECT date_trunc('hour', event_time) AS hour, sc_status, count(*) AS n FROM cloudfront "
     "WHERE dt = '2026-11-03' GROUP BY 1, 2 ORDER BY 1, 2"),
    ("cache hit ratio by day",
     "SELECT dt, avg(CASE WHEN x_edge_result_type IN ('Hit', 'RefreshHit') THEN 1.0 ELSE 0.0 END) "
     "AS hit_ratio FROM cloudfront GROUP BY dt ORDER BY dt"),
    ("top paths by bytes out",
     "SELECT cs_uri_stem, sum(sc_bytes) AS bytes FROM cloudfront GROUP BY 1 ORDER BY bytes DESC, 1 LIMIT 10"),
    ("scanners: IPs with many 404 paths",
     "SELECT c_ip, count(DISTINCT cs_uri_stem) AS paths FROM cloudfront WHERE sc_status = 404 "
     "GROUP BY c_ip HAVING count(DISTINCT cs_uri_stem) > 5 ORDER BY paths DESC, c_ip LIMIT 20"),
    ("bytes by edge, last day by event_time",
     "SELECT x_edge_location, sum(sc_bytes) AS bytes FROM cloudfront "
     "WHERE event_time >= TIMESTAMP '2026-11-07 00:00:00' GROUP BY 1 ORDER BY bytes DESC, 1 LIMIT 10"),
    ("six hours by event_time",
     "SELECT cs_method, sc_status, count(*) AS n FROM cloudfront "
     "WHERE event_time >= TIMESTAMP '2026-11-05 06:00:00' AND event_time < TIMESTAMP '2026-11-05 12:00:00' "
     "GROUP BY 1, 2 ORDER BY 1, 2"),
    ("scripted user agents",
     "SELECT cs_user_agent, count(*) AS n FROM cloudfront "
     "WHERE cs_user_agent LIKE 'curl/%' OR cs_user_agent LIKE 'python%' OR cs_user_agent LIKE 'Go-http%' "
     "GROUP BY 1 ORDER BY n DESC, 1 LIMIT 10"),
    ("error rate by edge",
     "SELECT x_edge_location, count(*) AS n, "
     "sum(CASE WHEN sc_status >= 500 THEN 1 ELSE 0 END) AS errors FROM cloudfront "
     "GROUP BY 1 ORDER BY errors DESC, 1 LIMIT 10"),
]

REUSED = SUITE[0][1]


def normalise(rows: list[tuple]) -> list[tuple]:
    def cell(v):
        if isinstance(v, float):
            return float(f"{v:.6g}")
        if hasattr(v, "isoformat"):
            return v.isoformat().replace("+00:00", "")
        return v
    return [tuple(cell(v) for v in row) for row in rows]


def parse_csv(text: str) -> list[tuple]:
    import csv
    import io
    rows = list(csv.reader(io.StringIO(text)))[1:]

    def cell(v: str):
        for kind in (int, float):
            try:
                return kind(v)
            except ValueError:
                pass
        return v.replace("T", " ").rstrip("Z")
    return [tuple(cell(v) for v in row) for row in rows]


def duckdb_rows_as_text(rows: list[tuple]) -> list[tuple]:
    out = []
    for row in normalise(rows):
        out.append(tuple(v.replace("T", " ") if isinstance(v, str) else v for v in row))
    return out


def run_logq(logq: Path, warehouse: Path, sql: str, cache: Path, reuse: bool) -> tuple[float, str]:
    cmd = [str(logq), "sql", "--quiet", "--warehouse", str(warehouse), "--format", "csv"]
    if not reuse:
        cmd.append("--no-reuse")
    env = {"LOGQ_CACHE_DIR": str(cache), "PATH": "/usr/bin:/bin"}
    started = time.perf_counter()
    done = subprocess.run(cmd + [sql], capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise shared.BenchError(f"logq failed on {sql!r}:\n{done.stderr}")
    return elapsed, done.stdout


def run_duckdb(warehouse: Path, sql: str) -> tuple[float, list[tuple]]:
    import duckdb
    started = time.perf_counter()
    con = duckdb.connect()
    files = shared.sql_str(str(warehouse / "cloudfront" / "*" / "*.parquet"))
    con.execute(f"CREATE VIEW cloudfront AS SELECT * FROM read_parquet({files}, hive_partitioning = true)")
    rows = con.execute(sql).fetchall()
    elapsed = time.perf_counter() - started
    con.close()
    return elapsed, rows


def ensure_warehouse(args: argparse.Namespace) -> Path:
    warehouse = args.warehouse
    if (warehouse / "_logq").is_dir():
        return warehouse
    gen = argparse.Namespace(source=None, format="cloudfront", days=7, seed=1, work=args.work,
                             regenerate=False)
    inp = shared.ensure_input(gen, args.logq, 2 << 30)
    print(f"partitioning {inp.folder} into {warehouse} ...", file=sys.stderr)
    shared.run_checked([str(args.logq), "partition", "--quiet", "--format", "cloudfront",
                        "--source", str(inp.folder), "--warehouse", str(warehouse)], "logq partition")
    return warehouse


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--logq", type=Path, default=REPO / "target" / "release" / "logq")
    p.add_argument("--work", type=Path, default=REPO / "target" / "bench-data")
    p.add_argument("--warehouse", type=Path, help="default: <work>/wh-logq-cloudfront")
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--venv", action="store_true",
                   help=f"create target/bench-venv, install {shared.DUCKDB_PIN} there and rerun inside it")
    args = p.parse_args(argv)
    args.work = args.work.resolve()
    args.warehouse = (args.warehouse or args.work / "wh-logq-cloudfront").resolve()
    try:
        shared.ensure_duckdb(args.venv, argv, Path(__file__))
        warehouse = ensure_warehouse(args)
    except shared.BenchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    import duckdb
    try:
        import pytz  # noqa: F401  (DuckDB needs it to return timestamps with a time zone)
    except ImportError:
        shared.run_checked([sys.executable, "-m", "pip", "install", "--quiet", "pytz"], "pip install pytz")

    files = list((warehouse / "cloudfront").rglob("*.parquet"))
    size = sum(f.stat().st_size for f in files)
    print(f"warehouse {warehouse}: {len(files)} files, {size / (1 << 20):.0f} MiB; logq {args.logq}; "
          f"duckdb {duckdb.__version__}; best and median of {args.repeat}", file=sys.stderr)
    for f in files:
        f.read_bytes()

    ok = True
    header = f"{'query':<40} {'logq best':>10} {'median':>8} {'duckdb best':>12} {'median':>8} {'logq/duckdb':>12}"
    print(header)
    ratios = []
    with tempfile.TemporaryDirectory() as cache:
        for name, sql in SUITE:
            times = {"logq": [], "duckdb": []}
            answers = {}
            for _ in range(args.repeat):
                t, out = run_logq(args.logq, warehouse, sql, Path(cache), reuse=False)
                times["logq"].append(t)
                answers["logq"] = normalise(parse_csv(out))
                t, rows = run_duckdb(warehouse, sql)
                times["duckdb"].append(t)
                answers["duckdb"] = duckdb_rows_as_text(rows)
            same = answers["logq"] == answers["duckdb"]
            ok &= same
            best = {k: min(v) for k, v in times.items()}
            ratio = best["logq"] / best["duckdb"]
            ratios.append(ratio)
            print(f"{name:<40} {best['logq']:>10.3f} {statistics.median(times['logq']):>8.3f} "
                  f"{best['duckdb']:>12.3f} {statistics.median(times['duckdb']):>8.3f} {ratio:>12.2f}"
                  + ("" if same else "  ANSWERS DIFFER"))
            if not same:
                print(f"  logq:   {answers['logq'][:3]}\n  duckdb: {answers['duckdb'][:3]}", file=sys.stderr)
        print(f"{'geometric mean':<40} {'':>10} {'':>8} {'':>12} {'':>8} "
              f"{statistics.geometric_mean(ratios):>12.2f}")

        run_logq(args.logq, warehouse, REUSED, Path(cache), reuse=True)
        reused = [run_logq(args.logq, warehouse, REUSED, Path(cache), reuse=True)[0] for _ in range(args.repeat)]
        print(f"\nrepeated query answered from a stored result ({SUITE[0][0]}), process start to exit: "
              f"best {min(reused) * 1000:.1f} ms, median {statistics.median(reused) * 1000:.1f} ms")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
