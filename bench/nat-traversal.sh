#!/bin/sh
# Birthday success rate through real nftables NATs (issue 20): runs e2e scenario (a) of
# test/e2e/nat-traversal.test.ts (EIM <-> EDM-random, real daemons, as root) N times (default 20)
# and prints per trial whether the pair went direct within 15 s, the time to direct and the probes
# the easy side sent; then the success count. Needs `npm run build` first. Usage:
#   sudo sh bench/nat-traversal.sh [N]
set -u
n=${1:-20}
ok=0
cd "$(dirname "$0")/.." || exit 1
i=1
while [ "$i" -le "$n" ]; do
  out=$(MESHD_NAT_BENCH=1 npx vitest run --project e2e test/e2e/nat-traversal.test.ts -t '\(a\)' 2>&1)
  line=$(printf '%s\n' "$out" | sed -n 's/.*NAT_BENCH //p' | head -1)
  if printf '%s\n' "$out" | grep -q 'Tests .*1 passed'; then ok=$((ok + 1)); r=direct; else r=FAILED; fi
  echo "trial $i: $r ${line:-}"
  i=$((i + 1))
done
echo "direct within 15 s: $ok/$n"
