#!/bin/bash
# The idle round-trip floor beside meshd's (issue 19 item 7, session 9), on a lab held by
# bench/vpn/idle-lab.mjs (its namespaces PREFIX-a and PREFIX-b, meshd up, B's overlay 10.9.0.3):
# 40 round trips 0.2 s apart each, alternated ROUNDS times: kernel ping over the underlay, the C UDP
# echo, node:dgram echo (sleeping, then spinning), meshd's ping. Run it under the bench lock:
#   flock /work/wt/bench.lock bash bench/vpn/idle-floor/floor.sh PREFIX [ROUNDS]
set -u
L=$1; ROUNDS=${2:-2}; here=$(cd "$(dirname "$0")" && pwd); pp=$(mktemp /tmp/udp-pingpong.XXXXXX)
gcc -O2 -o "$pp" "$here/udp-pingpong.c"
S=; trap '[ -n "$S" ] && kill $S 2>/dev/null; rm -f "$pp"' EXIT
med() { grep -o 'time=[0-9.]*' | cut -d= -f2 | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for r in $(seq 1 "$ROUNDS"); do
  echo "round $r: kernel ping median $(ip netns exec "$L-a" ping -c 40 -i 0.2 198.51.100.2 | med) ms"
  ip netns exec "$L-b" "$pp" s 198.51.100.2 5999 0 & S=$!; sleep 0.3
  echo "round $r: C echo $(timeout 20 ip netns exec "$L-a" "$pp" c 198.51.100.2 5999 0 40 0.2)"; kill $S; wait $S 2>/dev/null; S=
  for spin in "" --spin; do
    ip netns exec "$L-b" node "$here/node-echo.mjs" 198.51.100.2 5998 $spin & S=$!; sleep 1
    timeout 5 ip netns exec "$L-a" "$pp" c 198.51.100.2 5998 0 300 0.005 >/dev/null # warm-up
    echo "round $r: node echo ${spin:-(sleeping)} $(timeout 20 ip netns exec "$L-a" "$pp" c 198.51.100.2 5998 0 40 0.2)"; kill $S; wait $S 2>/dev/null; S=
  done
  echo "round $r: meshd ping median $(ip netns exec "$L-a" ping -c 40 -i 0.2 10.9.0.3 | med) ms"
done
