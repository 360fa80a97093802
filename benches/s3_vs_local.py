#!/usr/bin/env python3
"""Measure `logq partition` from an S3-compatible server against the same files on disk, and
what a nightly run with nothing new costs on a bucket of a few thousand objects.

The script
  1. generates CloudFront logs with `logq generate --seed 1` (2,160 hourly files for 30 days
     by default) under --work, once;
  2. starts its own moto server on loopback (moto[server], as `.ci/run` installs it) unless
     --endpoint names one, creates a bucket and uploads every file with AWS's flat key layout
     (`cf/<distribution>.YYYY-MM-DD-HH.<id>.gz`);
  3. runs, --repeat times each and alternating, `logq partition` from the local folder and
     from the bucket, each into a fresh local warehouse, and reports wall time, throughput
     over the compressed input, and the ratio;
  4. runs a first S3 run into a warehouse on the same server, then a second one with nothing
     new, and prints the keys listed and requests made by each (from logq's own summary,
     which counts HTTP requests at its client), and the second run's wall time.

Caveats: moto is a single Python process holding objects in memory, so the S3 side measures
logq against a slow server on loopback, not against AWS; there are no network round trips
of tens of milliseconds as from EC2 to S3 (which the 16 parallel GETs are for). The local
side reads from the page cache.

Usage (from the repo root, after `cargo build --release`):
  python3 benches/s3_vs_local.py
  python3 benches/s3_vs_local.py --size 64MiB --days 7 --repeat 1
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_moto() -> tuple[subprocess.Popen, str]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return server, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("moto did not start; pip install 'moto[server]'")


def aws_env(endpoint: str, tmp: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench-secret",
        AWS_REGION="us-east-1",
        AWS_EC2_METADATA_DISABLED="true",
        TMPDIR=str(tmp),
    )
    for name in ["LOGQ_WAREHOUSE", "LOGQ_CONFIG", "LOGQ_FAULT", "LOGQ_PAUSE"]:
        env.pop(name, None)
    return env


def run(logq: Path, args: list[str], env: dict[str, str]) -> tuple[float, str]:
    started = time.monotonic()
    done = subprocess.run([str(logq), *args], env=env, capture_output=True, text=True)
    elapsed = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"logq {' '.join(args)} failed:\n{done.stderr}")
    return elapsed, done.stderr


def listing(stderr: str) -> tuple[int, int | None]:
    match = re.search(r"(\d+) objects listed(?: in (\d+) requests)?", stderr)
    if not match:
        raise SystemExit(f"no listing line in:\n{stderr}")
    return int(match.group(1)), int(match.group(2)) if match.group(2) else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="256MiB")
    parser.add_argument("--days", default="30")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--work", type=Path, default=ROOT / "target" / "bench-s3")
    parser.add_argument("--endpoint", help="an S3-compatible server already running")
    parser.add_argument("--logq", type=Path, default=ROOT / "target" / "release" / "logq")
    options = parser.parse_args()

    import boto3  # moto[server] brings it

    raw = options.work / f"cloudfront-{options.size}-{options.days}d"
    stamp = raw.with_suffix(".done")
    if not stamp.exists():
        shutil.rmtree(raw, ignore_errors=True)
        subprocess.run(
            [str(options.logq), "generate", "--format", "cloudfront", "--out", str(raw),
             "--size", options.size, "--days", options.days, "--seed", "1", "--quiet"],
            check=True,
        )
        stamp.touch()
    files = sorted(p for p in raw.rglob("*") if p.is_file())
    input_bytes = sum(p.stat().st_size for p in files)

    server, endpoint = (None, options.endpoint) if options.endpoint else start_moto()
    tmp = Path(tempfile.mkdtemp(prefix="logq-bench-", dir=options.work))
    env = aws_env(endpoint, tmp)
    try:
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id="bench", aws_secret_access_key="bench-secret")
        bucket = f"logq-bench-{os.getpid()}"
        s3.create_bucket(Bucket=bucket)
        started = time.monotonic()
        for path in files:
            s3.put_object(Bucket=bucket, Key=f"cf/{path.name}", Body=path.read_bytes())
        print(f"uploaded {len(files)} objects, {input_bytes / 2**20:.1f} MiB compressed, "
              f"in {time.monotonic() - started:.1f} s", file=sys.stderr)

        sources = {"local disk": str(raw), "S3 (moto)": f"s3://{bucket}/cf"}
        times: dict[str, list[float]] = {name: [] for name in sources}
        for _ in range(options.repeat):
            for name, source in sources.items():
                warehouse = tmp / "wh"
                shutil.rmtree(warehouse, ignore_errors=True)
                elapsed, _ = run(options.logq, ["partition", "--format", "cloudfront",
                                                "--source", source, "--warehouse",
                                                str(warehouse)], env)
                times[name].append(elapsed)
        print(f"\ningest of {len(files)} files, {input_bytes / 2**20:.1f} MiB gzip, "
              f"{options.repeat} runs each")
        print(f"{'source':<12} {'best s':>8} {'median s':>9} {'MiB/s':>7}")
        best = {}
        for name, runs in times.items():
            runs.sort()
            best[name] = runs[0]
            print(f"{name:<12} {runs[0]:>8.2f} {runs[len(runs) // 2]:>9.2f} "
                  f"{input_bytes / 2**20 / runs[0]:>7.1f}")
        print(f"S3 / local (best): {best['S3 (moto)'] / best['local disk']:.2f}")

        warehouse = f"s3://{bucket}/wh"
        args = ["partition", "--format", "cloudfront", "--source", f"s3://{bucket}/cf",
                "--warehouse", warehouse]
        first, first_err = run(options.logq, args, env)
        again, again_err = run(options.logq, args, env)
        print(f"\nS3 to S3, first run: {first:.2f} s, keys listed and requests: "
              f"{listing(first_err)}")
        print(f"S3 to S3, nothing new: {again:.2f} s, keys listed and requests: "
              f"{listing(again_err)}")
        print(again_err.strip())
    finally:
        if server:
            server.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
