#!/usr/bin/env bash
# End to end on the bundled fixtures: build logq, partition every format into the embedded
# default warehouse (./logq-warehouse, here inside target/demo), then run the queries in
# queries/ and print their answers.
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
for query in "$repo"/queries/*.sql; do
    echo
    echo "== $(basename "$query" .sql)"
    sed -n 's/^-- \{0,1\}//p' "$query" | sed 's/^/   /'
    "$logq" sql -- "$(cat "$query")"
done
