#!/bin/bash
# The cost of a turn of JS (issue 19 item 7, session 10): in a pair of namespaces of its own (veth,
# 198.51.100.1 -> .2), 40 round trips 0.2 s apart to each echo, ROUNDS times alternated: the C echo
# (udp-pingpong.c), node:dgram (node-echo.mjs), and loop-echo.node in modes 0 (C in node's loop),
# 1 (send, then JS) and 2 (JS, then send). Root; run it under the bench lock:
#   flock /work/wt/bench.lock bash bench/vpn/idle-floor/turn-cost.sh [ROUNDS]
set -u
ROUNDS=${1:-3}; here=$(cd "$(dirname "$0")" && pwd); P=tc$$; tmp=$(mktemp -d /tmp/turn-cost.XXXXXX); S=
trap '[ -n "$S" ] && kill $S 2>/dev/null; ip netns del $P-a 2>/dev/null; ip netns del $P-b 2>/dev/null; rm -rf "$tmp"' EXIT
inc=$(dirname "$(dirname "$(command -v node)")")/include/node
gcc -O2 -o "$tmp/pp" "$here/udp-pingpong.c" && gcc -O2 -shared -fPIC -I"$inc" -o "$tmp/loop-echo.node" "$here/loop-echo.c" || exit 1
ip netns add $P-a && ip netns add $P-b || exit 1
ip link add $P-x netns $P-a type veth peer name $P-y netns $P-b
ip -n $P-a addr add 198.51.100.1/24 dev $P-x; ip -n $P-b addr add 198.51.100.2/24 dev $P-y
for n in a b; do ip -n $P-$n link set lo up; done; ip -n $P-a link set $P-x up; ip -n $P-b link set $P-y up; sleep 1
for r in $(seq 1 "$ROUNDS"); do
  ip netns exec $P-b "$tmp/pp" s 198.51.100.2 5999 0 & S=$!; sleep 0.3
  echo "round $r: C echo $(timeout 20 ip netns exec $P-a "$tmp/pp" c 198.51.100.2 5999 0 40 0.2)"; kill $S; wait $S 2>/dev/null; S=
  for v in "node $here/node-echo.mjs 198.51.100.2 5998" "node $here/loop-echo.mjs $tmp/loop-echo.node 198.51.100.2 5998 0" "node $here/loop-echo.mjs $tmp/loop-echo.node 198.51.100.2 5998 1" "node $here/loop-echo.mjs $tmp/loop-echo.node 198.51.100.2 5998 2"; do
    ip netns exec $P-b $v & S=$!; sleep 2
    timeout 5 ip netns exec $P-a "$tmp/pp" c 198.51.100.2 5998 0 300 0.005 >/dev/null # warm-up
    echo "round $r: ${v#node $here/} $(timeout 20 ip netns exec $P-a "$tmp/pp" c 198.51.100.2 5998 0 40 0.2)"; kill $S; wait $S 2>/dev/null; S=
  done
done
