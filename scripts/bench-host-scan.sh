#!/usr/bin/env bash
# Host scan benchmark: Attest against Lynis and OpenSCAP on this machine, in the same run.
#
#   scripts/bench-host-scan.sh [ATTEST_RUNS] [LYNIS_RUNS] [OSCAP_RUNS]
#
# Installs the peers from Debian when missing (needs root), builds Attest in release mode,
# runs each tool several times, prints median wall time, peak memory and the ratios, then
# compares the verdicts the tools share (scripts/compare_peers.py).
set -euo pipefail
cd "$(dirname "$0")/.."

ATTEST_RUNS=${1:-31}
LYNIS_RUNS=${2:-3}
OSCAP_RUNS=${3:-5}
OUT=${BENCH_OUT:-target/bench-host}
mkdir -p "$OUT"

need() { command -v "$1" >/dev/null 2>&1; }
if ! need lynis || ! need oscap || ! need hyperfine || [ ! -x /usr/bin/time ] || [ ! -f /usr/share/xml/scap/ssg/content/ssg-debian11-ds.xml ]; then
  echo "== installing peers (lynis, openscap-scanner + SCAP Security Guide, hyperfine, time)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq lynis hyperfine time >/dev/null
  apt-get install -y -qq --no-install-recommends openscap-scanner ssg-debian ssg-debderived >/dev/null
fi

echo "== building attest (release)"
cargo build --release --locked -q -p attest
ATTEST=target/release/attest
STORE=$(mktemp -d)
trap 'rm -rf "$STORE"' EXIT

# Debian 12 has no SSG content of its own; the Debian 11 datastream applies once its
# OS-version pattern accepts 12 (no rule logic changes), as described in shared/reference/peers.md.
DS="$OUT/ssg-debian11-ds-bookworm.xml"
sed 's|<ind:pattern operation="pattern match">^11.\[0-9\]+\$</ind:pattern>|<ind:pattern operation="pattern match">^1[12].[0-9]+$</ind:pattern>|' \
  /usr/share/xml/scap/ssg/content/ssg-debian11-ds.xml > "$DS"
PROFILE=xccdf_org.ssgproject.content_profile_standard

# median of the numbers on stdin
median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

# run_timed NAME RUNS CMD...: wall seconds and peak RSS (KiB) of each run into $OUT/NAME.{wall,rss}
run_timed() {
  local name=$1 runs=$2; shift 2
  : > "$OUT/$name.wall"; : > "$OUT/$name.rss"
  for _ in $(seq "$runs"); do
    /usr/bin/time -f '%e %M' -o "$OUT/$name.time" "$@" >/dev/null 2>&1 || true
    read -r wall rss < <(tail -n 1 "$OUT/$name.time")
    echo "$wall" >> "$OUT/$name.wall"; echo "$rss" >> "$OUT/$name.rss"
  done
}

echo "== attest scan: $ATTEST_RUNS runs (hyperfine, 3 warm-up runs)"
"$ATTEST" --store "$STORE" scan --format json > "$OUT/attest.json"
hyperfine -N -w 3 -r "$ATTEST_RUNS" --export-json "$OUT/attest-hyperfine.json" \
  "$ATTEST --store $STORE scan --format json" >/dev/null
run_timed attest 5 "$ATTEST" --store "$STORE" scan --format json
attest_ms=$(python3 -c "import json;print(json.load(open('$OUT/attest-hyperfine.json'))['results'][0]['median']*1000)")

echo "== lynis audit system: $LYNIS_RUNS runs"
run_timed lynis "$LYNIS_RUNS" lynis audit system --quick --no-colors
cp /var/log/lynis-report.dat "$OUT/lynis-report.dat" 2>/dev/null || true

echo "== oscap xccdf eval (standard profile): $OSCAP_RUNS runs"
run_timed oscap "$OSCAP_RUNS" oscap xccdf eval --profile "$PROFILE" --results "$OUT/oscap-results.xml" "$DS"

lynis_s=$(median < "$OUT/lynis.wall"); oscap_s=$(median < "$OUT/oscap.wall")
attest_rss=$(median < "$OUT/attest.rss"); lynis_rss=$(median < "$OUT/lynis.rss"); oscap_rss=$(median < "$OUT/oscap.rss")
checks=$(python3 -c "import json;d=json.load(open('$OUT/attest.json'));print(d['checks'], len(d['results']))")

python3 - "$attest_ms" "$lynis_s" "$oscap_s" "$attest_rss" "$lynis_rss" "$oscap_rss" "$checks" <<'PY'
import sys
attest_ms, lynis_s, oscap_s = float(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
a_rss, l_rss, o_rss = (int(float(x)) for x in sys.argv[4:7])
checks, results = sys.argv[7].split()
print()
print(f"| tool | median wall | peak RSS | ratio to attest |")
print(f"|---|---:|---:|---:|")
print(f"| attest scan ({checks} checks, {results} results) | {attest_ms:.1f} ms | {a_rss/1024:.1f} MiB | 1x |")
print(f"| lynis audit system --quick | {lynis_s:.1f} s | {l_rss/1024:.1f} MiB | {lynis_s*1000/attest_ms:,.0f}x |")
print(f"| oscap xccdf eval, standard profile | {oscap_s:.2f} s | {o_rss/1024:.1f} MiB | {oscap_s*1000/attest_ms:,.0f}x |")
PY
echo
python3 scripts/compare_peers.py "$OUT/attest.json" "$OUT/oscap-results.xml" "$OUT/lynis-report.dat"
