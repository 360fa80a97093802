#!/usr/bin/env python3
"""Benchmark `logq partition` against DuckDB doing the same job, in the same run.

The job: read raw AWS logs (CloudFront standard logs as gzip W3C files, or plain S3 server
access logs), type the fields, derive `event_time` and the day `dt`, and write them as
Hive-partitioned, zstd-compressed Parquet (`<warehouse>/<table>/dt=YYYY-MM-DD/*.parquet`)
with rows sorted by `event_time`.

For each size the script
  1. generates the input once with `logq generate --seed 1` (kept under --work with a stamp
     file next to it, so later runs reuse it),
  2. reads every input file once so both tools start with the same warm page cache,
  3. runs `logq partition --quiet` and a DuckDB `COPY ... PARTITION_BY (dt)` --repeat times
     each, alternating, each into a fresh empty warehouse, each as a separate child process
     whose wall time and peak RSS are measured the same way (/usr/bin/time when present,
     else a small Python wrapper that reports its RUSAGE_CHILDREN maximum),
  4. checks that both warehouses hold the same number of rows per dt,
  5. prints a table with best and median times, peak memory, throughput and output size,
     and the ratio DuckDB/logq.

Fairness caveats (read before quoting a number):
  * The jobs are close, not identical. logq also percent-decodes five CloudFront columns
    (DuckDB only with --duckdb-url-decode), keeps unknown trailing fields in an
    `extra_fields` map, writes every rejected line to `_rejects/`, maps CloudFront columns
    by each file's `#Fields:` header, and stages output so a failed run leaves the warehouse
    untouched. DuckDB's `ignore_errors=true` silently drops lines it cannot parse, and its
    CSV reader assumes the documented 33-column order.
  * Sorting differs: DuckDB's ORDER BY is one global sort over the whole input (memory grows
    with the input; it may spill to --work/duckdb-tmp), giving one file per day. logq sorts
    each day's buffered rows when its memory budget (default 384MiB) fills, so a large day
    can become several files, each sorted. DuckDB 2.0's partitioned COPY does not keep the
    ORDER BY exactly with more than one thread (duckdb/duckdb#14349): some files hold a few
    out-of-order 2048-row vectors. The script counts unsorted files for both tools.
  * Both use every core by default (logq: one worker per core; DuckDB: threads = cores);
    --threads N pins both. DuckDB's memory_limit is left at its default (80% of RAM).
  * DuckDB runs inside a Python interpreter, whose own RSS (~30-50 MiB) is counted in its
    peak. Peak RSS is the kernel's ru_maxrss: resident pages, not allocations.
  * Parquet settings are aligned where DuckDB allows it: zstd (level 3 in both), row groups
    of 131072 rows. Encodings, statistics and page sizes still differ, so output sizes
    differ a little.
  * The page cache is warm for both. Cold-cache numbers need a cache drop between runs,
    which this script does not do.

Usage (from the repo root, after `cargo build --release`):
  python3 benches/partition_vs_duckdb.py --venv                  # 2GiB of CloudFront logs
  python3 benches/partition_vs_duckdb.py --venv --size 256MiB    # quick smoke test
  python3 benches/partition_vs_duckdb.py --venv --format s3 --sizes 256MiB,2GiB --repeat 3
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DUCKDB_PIN = "duckdb==2.0.0"
VENV_DIR = REPO / "target" / "bench-venv"
MiB = 1 << 20
GiB = 1 << 30

# The logq table each --format writes to.
TABLES = {"cloudfront": "cloudfront", "s3": "s3_access"}

# CloudFront legacy fields in documented order: (logq column name, DuckDB type). Types follow
# the "store as" column of FORMATS.md A1, which is also what logq stores.
CLOUDFRONT_FIELDS = [
    ("date", "DATE"),
    ("time", "TIME"),
    ("x_edge_location", "VARCHAR"),
    ("sc_bytes", "BIGINT"),
    ("c_ip", "VARCHAR"),
    ("cs_method", "VARCHAR"),
    ("cs_host", "VARCHAR"),
    ("cs_uri_stem", "VARCHAR"),
    ("sc_status", "SMALLINT"),
    ("cs_referer", "VARCHAR"),
    ("cs_user_agent", "VARCHAR"),
    ("cs_uri_query", "VARCHAR"),
    ("cs_cookie", "VARCHAR"),
    ("x_edge_result_type", "VARCHAR"),
    ("x_edge_request_id", "VARCHAR"),
    ("x_host_header", "VARCHAR"),
    ("cs_protocol", "VARCHAR"),
    ("cs_bytes", "BIGINT"),
    ("time_taken", "DOUBLE"),
    ("x_forwarded_for", "VARCHAR"),
    ("ssl_protocol", "VARCHAR"),
    ("ssl_cipher", "VARCHAR"),
    ("x_edge_response_result_type", "VARCHAR"),
    ("cs_protocol_version", "VARCHAR"),
    ("fle_status", "VARCHAR"),
    ("fle_encrypted_fields", "INTEGER"),
    ("c_port", "INTEGER"),
    ("time_to_first_byte", "DOUBLE"),
    ("x_edge_detailed_result_type", "VARCHAR"),
    ("sc_content_type", "VARCHAR"),
    ("sc_content_len", "BIGINT"),
    ("sc_range_start", "BIGINT"),
    ("sc_range_end", "BIGINT"),
]
# Columns logq stores percent-decoded once (see src/formats/cloudfront.rs).
CLOUDFRONT_URL_ENCODED = {"cs_uri_stem", "cs_referer", "cs_user_agent", "cs_uri_query", "cs_cookie"}

# S3 server access log fields in documented order: (logq column name, DuckDB type or None
# for text). Field 3 is the bracketed time, which becomes event_time.
S3_FIELDS = [
    ("bucket_owner", None),
    ("bucket", None),
    ("time", None),
    ("remote_ip", None),
    ("requester", None),
    ("request_id", None),
    ("operation", None),
    ("key", None),
    ("request_uri", None),
    ("http_status", "SMALLINT"),
    ("error_code", None),
    ("bytes_sent", "BIGINT"),
    ("object_size", "BIGINT"),
    ("total_time", "INTEGER"),
    ("turn_around_time", "INTEGER"),
    ("referer", None),
    ("user_agent", None),
    ("version_id", None),
    ("host_id", None),
    ("signature_version", None),
    ("cipher_suite", None),
    ("authentication_type", None),
    ("host_header", None),
    ("tls_version", None),
    ("access_point_arn", None),
    ("acl_required", None),
    ("source_region", None),
]
S3_QUOTED = {"request_uri", "referer", "user_agent"}
# The Athena RegexSerDe regex from FORMATS.md section B (Java escapes removed). RE2, which
# DuckDB uses, accepts it as is. The optional group gives 18..27-field tolerance.
S3_REGEX = (
    r'([^ ]*) ([^ ]*) \[(.*?)\] ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ("[^"]*"|-) (-|[0-9]*) '
    r'([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ("[^"]*"|-) ([^ ]*)'
    r'(?: ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*))?.*$'
)

# Run inside the DuckDB child process: one in-memory database, the statements in argv[1].
DUCKDB_CHILD = "import duckdb, sys; duckdb.connect().execute(open(sys.argv[1]).read())"

# Fallback measurement when /usr/bin/time is missing: this wrapper runs the command as its
# only child, so its RUSAGE_CHILDREN maximum is that command's peak RSS (KiB on Linux).
RUSAGE_WRAPPER = (
    "import resource, subprocess, sys, time\n"
    "t = time.perf_counter()\n"
    "rc = subprocess.call(sys.argv[2:])\n"
    "e = time.perf_counter() - t\n"
    "open(sys.argv[1], 'w').write('%d %.3f' % (resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, e))\n"
    "sys.exit(rc)\n"
)


class BenchError(Exception):
    """A step failed; the message says which and why."""


# ---------------------------------------------------------------------------------------
# Set-up: sizes, DuckDB availability, the venv
# ---------------------------------------------------------------------------------------


def parse_size(text: str) -> int:
    """Parses `2GiB`, `256MiB`, `512MB`, `1024` like logq does (K/M/G are powers of 1024)."""
    text = text.strip()
    digits = len(text) - len(text.lstrip("0123456789."))
    number, unit = text[:digits], text[digits:].strip().lower()
    scales = {"": 1, "b": 1, "k": 1 << 10, "kb": 1 << 10, "kib": 1 << 10, "m": MiB, "mb": MiB,
              "mib": MiB, "g": GiB, "gb": GiB, "gib": GiB, "t": 1 << 40, "tb": 1 << 40, "tib": 1 << 40}
    if not number or unit not in scales:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size such as 256MiB or 2GiB")
    return int(float(number) * scales[unit])


def size_label(n: int) -> str:
    """A canonical short name for a size, used in folder names."""
    for unit, scale in (("GiB", GiB), ("MiB", MiB), ("KiB", 1 << 10)):
        if n >= scale and n % scale == 0:
            return f"{n // scale}{unit}"
    return str(n)


def ensure_duckdb(use_venv: bool, argv: list[str], script: Path | None = None) -> None:
    """Makes `import duckdb` work, re-executing `script` (default: this one) inside
    target/bench-venv when --venv is given."""
    try:
        import duckdb  # noqa: F401
        return
    except ImportError:
        pass
    venv_python = VENV_DIR / "bin" / "python"
    if not use_venv:
        sys.exit(
            "error: the Python package duckdb is not installed for this interpreter.\n"
            f"  Either install it:   {sys.executable} -m pip install {DUCKDB_PIN}\n"
            f"  or rerun with --venv, which creates {VENV_DIR.relative_to(REPO)} and installs it there."
        )
    if Path(sys.prefix).resolve() == VENV_DIR.resolve():
        sys.exit(f"error: duckdb is still missing inside {VENV_DIR}; delete that folder and retry")
    if not venv_python.exists():
        print(f"creating {VENV_DIR} ...", file=sys.stderr)
        run_checked([sys.executable, "-m", "venv", str(VENV_DIR)], "python3 -m venv")
    probe = subprocess.run([str(venv_python), "-c", "import duckdb"], capture_output=True)
    if probe.returncode != 0:
        print(f"installing {DUCKDB_PIN} into {VENV_DIR} ...", file=sys.stderr)
        run_checked([str(venv_python), "-m", "pip", "install", "--quiet", DUCKDB_PIN], "pip install")
    script = (script or Path(__file__)).resolve()
    os.execv(str(venv_python), [str(venv_python), str(script), *argv])


def run_checked(cmd: list[str], what: str) -> None:
    done = subprocess.run(cmd)
    if done.returncode != 0:
        raise BenchError(f"{what} failed with exit code {done.returncode}: {' '.join(cmd)}")


# ---------------------------------------------------------------------------------------
# Input: generation, the stamp, sizes
# ---------------------------------------------------------------------------------------


@dataclass
class Input:
    folder: Path
    files: list[Path]
    gzipped: set[Path]  # the files that start with the gzip magic bytes
    compressed: int  # bytes on disk
    uncompressed: int  # bytes after gunzip (gzip ISIZE trailers; plain files as they are)


def input_files(folder: Path) -> list[Path]:
    """Every regular file under the folder, as logq's --source reads it (hidden files skipped)."""
    found = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found.extend(Path(root, n) for n in sorted(names) if not n.startswith("."))
    return found


def gzip_isize(path: Path) -> int | None:
    """Size after gunzip from the ISIZE trailer (exact for single-member gzip under 4 GiB, as
    generated), or None when the file is not gzip."""
    with path.open("rb") as f:
        if f.read(2) != b"\x1f\x8b":
            return None
        f.seek(-4, os.SEEK_END)
        return struct.unpack("<I", f.read(4))[0]


def describe_input(folder: Path) -> Input:
    files = input_files(folder)
    if not files:
        raise BenchError(f"no input files under {folder}")
    gzipped = set()
    compressed = uncompressed = 0
    for path in files:
        size = path.stat().st_size
        isize = gzip_isize(path)
        if isize is not None:
            gzipped.add(path)
        compressed += size
        uncompressed += size if isize is None else isize
    return Input(folder, files, gzipped, compressed, uncompressed)


def ensure_input(args: argparse.Namespace, logq: Path, size: int) -> Input:
    """Generates the raw logs unless the folder already holds them (checked by a stamp)."""
    if args.source:
        return describe_input(args.source)
    name = f"raw-{args.format}-{size_label(size)}-{args.days}d-seed{args.seed}"
    folder = args.work / name
    # The stamp sits next to the folder, not in it: logq and DuckDB read every file inside.
    stamp_path = args.work / f"{name}.stamp.json"
    # AWS delivers S3 access logs uncompressed and CloudFront logs as gzip; generate the same.
    plain = args.format == "s3"
    wanted = {"format": args.format, "size": size, "days": args.days, "seed": args.seed, "plain": plain}
    if stamp_path.exists() and folder.is_dir() and not args.regenerate:
        stamp = json.loads(stamp_path.read_text())
        found = describe_input(folder) if input_files(folder) else None
        if (stamp.get("args") == wanted and found is not None
                and stamp.get("files") == len(found.files) and stamp.get("bytes") == found.compressed):
            print(f"reusing {folder} ({len(found.files)} files)", file=sys.stderr)
            return found
    shutil.rmtree(folder, ignore_errors=True)
    stamp_path.unlink(missing_ok=True)
    print(f"generating {size_label(size)} of {args.format} logs into {folder} ...", file=sys.stderr)
    started = time.perf_counter()
    cmd = [str(logq), "generate", "--format", args.format, "--out", str(folder), "--size", str(size),
           "--days", str(args.days), "--seed", str(args.seed), "--quiet"]
    run_checked(cmd + (["--plain"] if plain else []), "logq generate")
    found = describe_input(folder)
    stamp_path.write_text(json.dumps(
        {"args": wanted, "files": len(found.files), "bytes": found.compressed}, indent=2) + "\n")
    print(f"  generated {len(found.files)} files in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    return found


def warm_cache(inp: Input) -> None:
    """Reads every input file once so neither tool pays for the first read from disk."""
    for path in inp.files:
        with path.open("rb") as f:
            while f.read(8 * MiB):
                pass


# ---------------------------------------------------------------------------------------
# The DuckDB job
# ---------------------------------------------------------------------------------------


def sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def read_csv(inp: Input, options: str) -> str:
    """read_csv over exactly the files logq reads (not a glob that could differ from it).

    DuckDB picks compression by file extension, while logq sniffs the gzip magic bytes; so
    gzip and plain files are read separately with explicit compression and concatenated."""
    groups = [("gzip", [p for p in inp.files if p in inp.gzipped]),
              ("none", [p for p in inp.files if p not in inp.gzipped])]
    reads = [
        f"SELECT * FROM read_csv([{', '.join(sql_str(str(p)) for p in files)}], "
        f"compression='{compression}', {options})"
        for compression, files in groups if files
    ]
    return "(" + "\n  UNION ALL ".join(reads) + ")"


def cloudfront_select(inp: Input, url_decode: bool) -> str:
    columns = "{" + ", ".join(f"{sql_str(n)}: {sql_str(t)}" for n, t in CLOUDFRONT_FIELDS) + "}"
    # quote/escape are off because CloudFront URL-encodes quotes and backslashes; files are
    # read in parallel (one gzip stream each), `skip=2` drops each file's two header lines.
    source = read_csv(inp, (
        f"delim='\\t', skip=2, header=false, auto_detect=false, quote='', escape='', "
        f"nullstr='-', columns={columns}, ignore_errors=true, "
        # As logq: extra trailing fields (AWS's own example ends a row with a tab) are
        # ignored rather than rejecting the row, and short rows get NULLs.
        "strict_mode=false, null_padding=true"
    ))
    outputs = ["CAST(date + time AS TIMESTAMP) AS event_time"]
    for name, _ in CLOUDFRONT_FIELDS[2:]:
        if url_decode and name in CLOUDFRONT_URL_ENCODED:
            # As logq: decode once; keep the text as written when it is not valid UTF-8.
            outputs.append(f"coalesce(try(url_decode({name})), {name}) AS {name}")
        else:
            outputs.append(name)
    outputs.append("strftime(date, '%Y-%m-%d') AS dt")
    return f"SELECT {', '.join(outputs)}\nFROM {source}\nWHERE date IS NOT NULL AND time IS NOT NULL"


def s3_select(inp: Input) -> str:
    # The time has a space inside brackets and fields may be quoted, which no CSV dialect
    # splits correctly: read each line as one column (the delimiter \x01 never occurs) and
    # split it with the Athena regex, all 27 groups in one match.
    source = read_csv(inp, (
        "delim='\x01', header=false, auto_detect=false, quote='', escape='', "
        "columns={'line': 'VARCHAR'}, ignore_errors=true"
    ))
    names = "[" + ", ".join(sql_str(n) for n, _ in S3_FIELDS) + "]"
    parsed = f"SELECT regexp_extract(line, {sql_str(S3_REGEX)}, {names}) AS f FROM {source}"
    outputs = ["try_strptime(f.time, '%d/%b/%Y:%H:%M:%S %z') AS event_time"]
    for name, typ in S3_FIELDS:
        if name == "time":
            continue
        # A missing optional group is '' and `-` means unknown: both are NULL, as in logq.
        value = f"nullif(nullif(f.{name}, ''), '-')"
        if name in S3_QUOTED:
            value = f"nullif(trim({value}, '\"'), '-')"
        if typ:
            value = f"TRY_CAST({value} AS {typ})"
        outputs.append(f"{value} AS {name}")
    # A line that does not match the regex yields empty groups, so no time: dropped, as
    # DuckDB's ignore_errors would drop it.
    return f"SELECT *, strftime(event_time, '%Y-%m-%d') AS dt FROM (\n  SELECT {', '.join(outputs)}\n  FROM ({parsed})\n) WHERE event_time IS NOT NULL"


def duckdb_script(args: argparse.Namespace, inp: Input, warehouse: Path) -> str:
    select = cloudfront_select(inp, args.duckdb_url_decode) if args.format == "cloudfront" else s3_select(inp)
    target = warehouse / TABLES[args.format]
    settings = [
        # S3 times carry an offset; strftime/dt must be computed in UTC, as logq does.
        "SET TimeZone = 'UTC';",
        f"SET temp_directory = {sql_str(str(args.work / 'duckdb-tmp'))};",
        # preserve_insertion_order stays at its default (true). false changes the result:
        # DuckDB then does not keep the ORDER BY order when writing. Even with true, DuckDB
        # 2.0's partitioned COPY with more than one thread leaves a few out-of-order vectors
        # in some files (duckdb/duckdb#14349); the order check below counts such files.
        # memory_limit stays at its default (80% of RAM).
    ]
    if args.threads:
        settings.append(f"SET threads = {args.threads};")
    return "\n".join(settings) + (
        f"\nCOPY (\n{select}\nORDER BY event_time\n) TO {sql_str(str(target))} "
        "(FORMAT parquet, PARTITION_BY (dt), COMPRESSION zstd, ROW_GROUP_SIZE 131072);\n"
    )


# ---------------------------------------------------------------------------------------
# Running and measuring one child
# ---------------------------------------------------------------------------------------


@dataclass
class Run:
    wall: float  # seconds
    peak_rss: int  # bytes


def gnu_time() -> str | None:
    """/usr/bin/time (Debian package `time`), unless LOGQ_BENCH_NO_GNU_TIME is set."""
    if os.environ.get("LOGQ_BENCH_NO_GNU_TIME"):
        return None
    return shutil.which("time", path="/usr/bin:/bin")


def measure(cmd: list[str], label: str, log: Path) -> Run:
    """Runs one command, returning its wall time and peak RSS; raises if it fails."""
    with tempfile.NamedTemporaryFile("r", suffix=".rusage", delete=False) as f:
        report = Path(f.name)
    use_gnu_time = gnu_time() is not None
    if use_gnu_time:
        wrapped = [gnu_time(), "-f", "%M %e", "-o", str(report), *cmd]
    else:
        wrapped = [sys.executable, "-c", RUSAGE_WRAPPER, str(report), *cmd]
    started = time.perf_counter()
    with log.open("w") as out:
        rc = subprocess.call(wrapped, stdout=out, stderr=subprocess.STDOUT)
    wall = time.perf_counter() - started
    text = report.read_text().strip().splitlines()
    report.unlink(missing_ok=True)
    if rc != 0:
        tail = "".join(log.read_text(errors="replace").splitlines(keepends=True)[-20:])
        raise BenchError(f"{label} failed with exit code {rc} (log: {log}):\n{tail}")
    # GNU time may print "Command exited with non-zero status" first; the numbers are last.
    max_rss_kib, elapsed = text[-1].split()
    if not use_gnu_time:
        # The wrapper timed the command itself, without its own interpreter start-up.
        wall = float(elapsed)
    return Run(wall=wall, peak_rss=int(max_rss_kib) * 1024)


def fresh(folder: Path) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    return folder


def run_logq(args: argparse.Namespace, logq: Path, inp: Input, warehouse: Path) -> Run:
    fresh(warehouse).mkdir(parents=True)
    cmd = [str(logq), "partition", "--format", args.format, "--source", str(inp.folder),
           "--warehouse", str(warehouse), "--quiet"]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    return measure(cmd, "logq partition", args.work / "logq-partition.log")


def run_duckdb(args: argparse.Namespace, inp: Input, warehouse: Path) -> Run:
    fresh(warehouse).mkdir(parents=True)
    script = args.work / f"duckdb-{args.format}.sql"
    script.write_text(duckdb_script(args, inp, warehouse))
    cmd = [sys.executable, "-c", DUCKDB_CHILD, str(script)]
    return measure(cmd, "duckdb COPY", args.work / "duckdb-copy.log")


# ---------------------------------------------------------------------------------------
# Checking and reporting
# ---------------------------------------------------------------------------------------


def rows_per_dt(table_dir: Path) -> dict[str, int]:
    import duckdb

    if not any(table_dir.glob("dt=*/*.parquet")):
        return {}
    pattern = sql_str(str(table_dir / "**" / "*.parquet"))
    rows = duckdb.connect().execute(
        f"SELECT dt::VARCHAR, count(*) FROM read_parquet({pattern}, hive_partitioning=true) "
        "GROUP BY ALL ORDER BY 1"
    ).fetchall()
    return {dt: n for dt, n in rows}


def unsorted_files(table_dir: Path) -> int:
    """Output files whose rows are not in event_time order (reads event_time once)."""
    import duckdb

    pattern = sql_str(str(table_dir / "**" / "*.parquet"))
    return duckdb.connect().execute(
        f"SELECT count(DISTINCT filename) FROM ("
        f"  SELECT filename, event_time < lag(event_time) OVER (PARTITION BY filename ORDER BY file_row_number) AS back"
        f"  FROM read_parquet({pattern}, filename=true, file_row_number=true)) WHERE back"
    ).fetchone()[0]


def count_rejects(warehouse: Path) -> int:
    """Lines logq rejected: one JSON object per line under _rejects/."""
    total = 0
    for path in (warehouse / "_rejects").rglob("*"):
        if path.is_file():
            with path.open("rb") as f:
                total += sum(1 for _ in f)
    return total


def parquet_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*.parquet") if p.is_file()]


def compare(per_tool: dict[str, dict[str, int]], warehouses: dict[str, Path]) -> bool:
    """Prints whether the tools wrote the same rows per dt; returns True when they agree."""
    if len(per_tool) < 2:
        return True
    (a, rows_a), (b, rows_b) = per_tool.items()
    if rows_a == rows_b:
        print(f"check: both wrote {sum(rows_a.values())} rows in {len(rows_a)} partitions, same per dt")
        return True
    print(f"WARNING: row counts differ: {a} {sum(rows_a.values())}, {b} {sum(rows_b.values())}")
    for dt in sorted(set(rows_a) | set(rows_b)):
        if rows_a.get(dt) != rows_b.get(dt):
            print(f"  dt={dt}: {a} {rows_a.get(dt, 0)}, {b} {rows_b.get(dt, 0)}")
    if "logq" in warehouses:
        print(f"  logq rejected {count_rejects(warehouses['logq'])} lines (see {warehouses['logq'] / '_rejects'});"
              " DuckDB's ignore_errors drops unparsable lines without a trace")
    return False


@dataclass
class ToolResult:
    runs: list[Run] = field(default_factory=list)
    output: int = 0  # bytes of Parquet written by the last run
    files: int = 0  # Parquet files written by the last run
    unsorted: int | None = None  # of those, files not sorted by event_time
    rows: dict[str, int] = field(default_factory=dict)


def print_table(inp: Input, results: dict[str, ToolResult]) -> None:
    print(f"input: {len(inp.files)} files, {inp.compressed / GiB:.3f} GiB compressed, "
          f"{inp.uncompressed / GiB:.3f} GiB uncompressed ({inp.folder})")
    header = (f"{'tool':<8}{'runs':>5}{'wall best s':>13}{'wall median s':>15}{'peak RSS MiB':>14}"
              f"{'(max)':>8}{'in GiB gz':>11}{'in GiB raw':>12}{'MiB/s raw':>11}{'output MiB':>12}"
              f"{'files':>7}{'unsorted':>10}")
    print(header)
    print("-" * len(header))
    for tool, r in results.items():
        walls = [run.wall for run in r.runs]
        rss = [run.peak_rss for run in r.runs]
        print(f"{tool:<8}{len(r.runs):>5}{min(walls):>13.2f}{statistics.median(walls):>15.2f}"
              f"{statistics.median(rss) / MiB:>14.0f}{max(rss) / MiB:>8.0f}"
              f"{inp.compressed / GiB:>11.3f}{inp.uncompressed / GiB:>12.3f}"
              f"{inp.uncompressed / MiB / min(walls):>11.1f}{r.output / MiB:>12.1f}"
              f"{r.files:>7}{'-' if r.unsorted is None else r.unsorted:>10}")
    if "logq" in results and "duckdb" in results:
        lq, dd = results["logq"].runs, results["duckdb"].runs
        best = min(r.wall for r in dd) / min(r.wall for r in lq)
        median = statistics.median(r.wall for r in dd) / statistics.median(r.wall for r in lq)
        mem_l = statistics.median(r.peak_rss for r in lq) / MiB
        mem_d = statistics.median(r.peak_rss for r in dd) / MiB
        print(f"ratio duckdb/logq time = {best:.2f} (best), {median:.2f} (median)")
        print(f"peak memory: logq {mem_l:.0f} MiB, duckdb {mem_d:.0f} MiB "
              f"(ratio duckdb/logq = {mem_d / mem_l:.2f})")


# ---------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------


def bench_one_size(args: argparse.Namespace, logq: Path, size: int) -> bool:
    inp = ensure_input(args, logq, size)
    warm_cache(inp)
    warehouses = {"logq": args.work / f"wh-logq-{args.format}", "duckdb": args.work / f"wh-duckdb-{args.format}"}
    results = {tool: ToolResult() for tool in args.tools}
    for i in range(args.repeat):
        for tool in args.tools:
            print(f"run {i + 1}/{args.repeat}: {tool} ...", file=sys.stderr, flush=True)
            if tool == "logq":
                run = run_logq(args, logq, inp, warehouses[tool])
            else:
                run = run_duckdb(args, inp, warehouses[tool])
            print(f"  {run.wall:.2f}s, peak RSS {run.peak_rss / MiB:.0f} MiB", file=sys.stderr)
            results[tool].runs.append(run)
    for tool, r in results.items():
        table_dir = warehouses[tool] / TABLES[args.format]
        files = parquet_files(table_dir)
        r.output, r.files = sum(p.stat().st_size for p in files), len(files)
        r.rows = rows_per_dt(table_dir)
        if args.check_order and files:
            r.unsorted = unsorted_files(table_dir)
    print()
    print_table(inp, results)
    return compare({t: r.rows for t, r in results.items()}, {t: warehouses[t] for t in results})


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--logq", type=Path, default=REPO / "target" / "release" / "logq",
                   help="the logq binary (default: target/release/logq)")
    p.add_argument("--format", choices=sorted(TABLES), default="cloudfront")
    p.add_argument("--size", "--sizes", dest="sizes", default="2GiB",
                   help="uncompressed input size to generate; a comma list runs each, e.g. 256MiB,2GiB")
    p.add_argument("--days", type=int, default=7)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--work", type=Path, default=REPO / "target" / "bench-data",
                   help="where input, warehouses and logs go (default: target/bench-data)")
    p.add_argument("--source", type=Path,
                   help="benchmark this folder of raw logs instead of generating input")
    p.add_argument("--repeat", type=int, default=1, help="runs per tool; best and median are shown")
    p.add_argument("--threads", type=int, help="threads for both tools (default: all cores)")
    p.add_argument("--tools", default="logq,duckdb", help="comma list of tools to run (logq, duckdb)")
    p.add_argument("--duckdb-url-decode", action="store_true",
                   help="CloudFront: make DuckDB percent-decode the five columns logq decodes")
    p.add_argument("--no-check-order", dest="check_order", action="store_false",
                   help="skip counting output files whose rows are not sorted by event_time")
    p.add_argument("--regenerate", action="store_true", help="generate the input even if a stamp matches")
    p.add_argument("--venv", action="store_true",
                   help=f"create target/bench-venv, install {DUCKDB_PIN} there and rerun inside it")
    args = p.parse_args(argv)
    try:
        args.sizes = [parse_size(s) for s in args.sizes.split(",") if s.strip()]
    except argparse.ArgumentTypeError as e:
        p.error(str(e))
    args.tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    if not args.tools or any(t not in ("logq", "duckdb") for t in args.tools):
        p.error("--tools takes logq, duckdb or both")
    if args.repeat < 1:
        p.error("--repeat must be at least 1")
    args.work = args.work.resolve()
    if args.source:
        args.source = args.source.resolve()
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    try:
        ensure_duckdb(args.venv, argv)
    except BenchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    import duckdb

    if duckdb.__version__ != DUCKDB_PIN.split("==")[1]:
        print(f"warning: duckdb {duckdb.__version__} is installed; this script was written and checked "
              f"against {DUCKDB_PIN}", file=sys.stderr)

    logq = args.logq.resolve()
    needs_logq = "logq" in args.tools or not args.source
    if needs_logq and not os.access(logq, os.X_OK):
        print(f"error: no logq binary at {logq}; build it with `cargo build --release` or pass --logq",
              file=sys.stderr)
        return 2
    args.work.mkdir(parents=True, exist_ok=True)
    print(f"duckdb {duckdb.__version__}, {os.cpu_count()} cores, format {args.format}, "
          f"peak RSS via {gnu_time() or 'a getrusage wrapper'}",
          file=sys.stderr)
    agree = True
    try:
        for size in args.sizes if not args.source else args.sizes[:1]:
            if len(args.sizes) > 1 and not args.source:
                print(f"\n=== {size_label(size)} ===")
            agree &= bench_one_size(args, logq, size)
    except BenchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    if not agree:
        print("(row counts differ: a warning, not a failure; see above)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
