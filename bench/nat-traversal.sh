#!/bin/sh
# NAT traversal success rate through real NATs (issue 20), real daemons, as root. Scenario:
#   birthday (default): e2e (a) of test/e2e/nat-traversal.test.ts, EIM <-> EDM-random (nftables);
#   portmap: test/e2e/port-map.test.ts, EDM-random behind miniupnpd (PCP) <-> EDM-random.
# Runs it N times (default 20) and prints per trial whether the pair went direct, the time to
# direct and the probes sent; then the success count. Needs `npm run build` first. Usage:
#   sudo sh bench/nat-traversal.sh [N] [birthday|portmap]
set -u
n=${1:-20}
scenario=${2:-birthday}
case "$scenario" in
  birthday) file=test/e2e/nat-traversal.test.ts; filter='\(a\)' ;;
  portmap) file=test/e2e/port-map.test.ts; filter='through miniupnpd' ;;
  *) echo "unknown scenario $scenario (birthday|portmap)" >&2; exit 2 ;;
esac
ok=0
cd "$(dirname "$0")/.." || exit 1
i=1
while [ "$i" -le "$n" ]; do
  out=$(MESHD_NAT_BENCH=1 npx vitest run --project e2e "$file" -t "$filter" 2>&1)
  line=$(printf '%s\n' "$out" | sed -n 's/.*NAT_BENCH //p' | head -1)
  if printf '%s\n' "$out" | grep -q 'Tests .*1 passed'; then ok=$((ok + 1)); r=direct; else r=FAILED; fi
  echo "trial $i: $r ${line:-}"
  i=$((i + 1))
done
echo "$scenario: direct $ok/$n"
