#!/usr/bin/env bash
# Type 2 history benchmark: a year of hourly runs on a fleet, then the Type 2 report, the
# store's size, `attest verify`, the auditor package and append throughput.
#
#   scripts/bench-history.sh [HOSTS] [CHECKS] [DAYS]      (default 1000 100 365)
#
# Builds Attest in release mode, simulates HOSTS x CHECKS results hourly for DAYS days into a
# fresh store (`attest simulate history`), then times each step (median of several runs) and
# prints the figures beside the targets. No peer tool computes Type 2 effectiveness from
# history, so the figures stand alone; `cargo bench` gives the ledger and append figures.
set -euo pipefail
cd "$(dirname "$0")/.."

HOSTS=${1:-1000}
CHECKS=${2:-100}
DAYS=${3:-365}
REPORT_RUNS=${REPORT_RUNS:-5}
VERIFY_RUNS=${VERIFY_RUNS:-3}
OUT=${BENCH_OUT:-target/bench-history}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

if [ ! -x /usr/bin/time ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq time >/dev/null
fi

echo "== building attest (release)"
cargo build --release --locked -q -p attest
ATTEST=$PWD/target/release/attest
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
"$ATTEST" init "$WORK/ws" --organisation "Benchmark Ltd" --period-start 2025-01-01 >/dev/null 2>&1
cd "$WORK/ws"
END=$(python3 -c "import datetime;print(datetime.date(2025,1,1)+datetime.timedelta(days=$DAYS-1))")
PERIOD="2025-01-01..$END"

median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
# timed NAME RUNS CMD...: wall seconds and peak RSS (KiB) of each run into $OUT/NAME.{wall,rss}
timed() {
  local name=$1 runs=$2; shift 2
  : > "$OUT/$name.wall"; : > "$OUT/$name.rss"
  for _ in $(seq "$runs"); do
    /usr/bin/time -f '%e %M' -o "$OUT/$name.time" "$@" > "$OUT/$name.out" 2>&1
    read -r wall rss < <(tail -n 1 "$OUT/$name.time")
    echo "$wall" >> "$OUT/$name.wall"; echo "$rss" >> "$OUT/$name.rss"
  done
}

echo "== simulate: $HOSTS hosts x $CHECKS results, hourly for $DAYS days"
timed simulate 1 "$ATTEST" simulate history --hosts "$HOSTS" --checks "$CHECKS" --days "$DAYS" --seed 1 --start 2025-01-01
grep Simulated "$OUT/simulate.out"
store_bytes=$(stat -c %s .attest/attest.db)

echo "== report type2 --period $PERIOD: $REPORT_RUNS runs each, HTML and JSON"
timed type2-html "$REPORT_RUNS" "$ATTEST" report type2 --period "$PERIOD" --seed 7 --output "$OUT/type2.html"
timed type2-json "$REPORT_RUNS" "$ATTEST" report type2 --period "$PERIOD" --seed 7 --format json --output "$OUT/type2.json"

echo "== verify: $VERIFY_RUNS runs"
timed verify "$VERIFY_RUNS" "$ATTEST" verify
grep ledger: "$OUT/verify.out"
grep history: "$OUT/verify.out"
entries=$(grep -o 'ledger: [0-9]* entries' "$OUT/verify.out" | grep -o '[0-9]*')

echo "== export package and verify it (attest, then the standalone verify.py)"
timed export 1 "$ATTEST" export package --period "$PERIOD" --seed 7 --output "$WORK/package.zip"
timed verify-package 1 "$ATTEST" verify "$WORK/package.zip"
unzip -p "$WORK/package.zip" verify.py > "$WORK/verify.py"
timed verify-py 1 python3 "$WORK/verify.py" "$WORK/package.zip"
head -1 "$OUT/verify-py.out"
package_bytes=$(stat -c %s "$WORK/package.zip")

cd - >/dev/null
echo "== cargo bench: ledger verification and append throughput"
cargo bench --locked -q -p attest-ledger --bench verify 2>/dev/null | grep ledger: | tee "$OUT/ledger-bench.txt"
cargo bench --locked -q -p attest-store-sqlite --bench append 2>/dev/null | grep append: | tee "$OUT/append-bench.txt"

observations=$(grep -o '([0-9]* observations)' "$OUT/simulate.out" | grep -o '[0-9]*')
python3 - "$OUT" "$store_bytes" "$entries" "$package_bytes" "$observations" <<'PY'
import sys, statistics
out, store, entries, package, observations = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
def col(name, ext): return [float(x) for x in open(f"{out}/{name}.{ext}") if x.strip()]
med = lambda name: statistics.median(col(name, "wall"))
rss = lambda name: max(col(name, "rss")) / 1024
print()
print(f"| step | median wall | peak RSS | target |")
print(f"|---|---:|---:|---|")
print(f"| simulate {observations:,} observations | {med('simulate'):.1f} s | {rss('simulate'):.0f} MiB | |")
print(f"| Type 2 report, HTML | {med('type2-html'):.2f} s | {rss('type2-html'):.0f} MiB | under 5 s |")
print(f"| Type 2 report, JSON | {med('type2-json'):.2f} s | {rss('type2-json'):.0f} MiB | under 5 s |")
v = med('verify')
print(f"| attest verify, {entries:,} entries (chain, signatures, payloads, history replay) | {v:.1f} s = {entries / v:,.0f} entries/s | {rss('verify'):.0f} MiB | 500,000 entries/s or more |")
print(f"| export package ({package / 2**20:,.0f} MiB) | {med('export'):.1f} s | {rss('export'):.0f} MiB | |")
print(f"| attest verify PACKAGE.zip | {med('verify-package'):.1f} s | {rss('verify-package'):.0f} MiB | |")
print(f"| python3 verify.py PACKAGE.zip | {med('verify-py'):.1f} s | {rss('verify-py'):.0f} MiB | |")
print(f"\nstore: {store / 2**20:,.0f} MiB ({store:,} bytes) for {observations:,} observations — target under 1 GB")
PY
