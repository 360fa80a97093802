#!/usr/bin/env bash
# End to end on the bundled fixtures: build logq, partition every format into the embedded
# default warehouse (./logq-warehouse, here inside target/demo), then run the saved
# queries of queries/, print their answers and write a dashboard of them.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
cargo build --quiet
logq="$repo/target/debug/logq"

demo="$repo/target/demo"
rm -rf "$demo"
mkdir -p "$demo"
cd "$demo"

"$logq" partition --format cloudfront --source "$repo/fixtures/cloudfront"
"$logq" partition --format cloudfront --source "$repo/fixtures/cloudfront-v2"
"$logq" partition --format s3 --source "$repo/fixtures/s3"
"$logq" partition --format waf --source "$repo/fixtures/waf"
"$logq" partition --format cloudtrail --source "$repo/fixtures/cloudtrail"
"$logq" partition --format alb --source "$repo/fixtures/alb"
# The fixtures are from November 2026: every saved query over that range, then the
# dashboard of them.
range=(--param since=2026-10-01 --param until=2026-12-01)
for query in $("$logq" queries list | tail -n +2 | cut -d' ' -f1); do
    echo
    echo "== $query: $("$logq" queries show "$query" | head -1 | cut -d: -f2-)"
    "$logq" run "$query" "${range[@]}"
done
"$logq" dashboard "${range[@]}" --out "$demo/dashboard.html"
