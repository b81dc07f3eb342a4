#!/bin/bash
# A three-namespace lab for data-path measurements: hub + two peers on one bridge (direct LAN path).
#   bench/dataplane/lab.sh up DIST TRANSPORT [PREFIX]   start hub+peers from DIST (a dist/ copy)
#   bench/dataplane/lab.sh down [PREFIX]                kill our daemons (by pid file), delete namespaces
# Underlay 198.51.100.0/24; overlay 10.9.0.0/24 only inside the namespaces. PIDs go to /tmp/$P/*.pid.
set -euo pipefail
cmd=$1; shift
P=${PREFIX:-dp$$}
case $cmd in
up)
  DIST=$1; TR=$2; P=${3:-$P}; MODE=${KCP_MODE:-fast2}
  D=/tmp/$P; mkdir -p $D
  head -c 32 /dev/urandom | base64 > $D/secret; chmod 600 $D/secret
  ip netns add ${P}sw; ip -n ${P}sw link add br0 type bridge; ip -n ${P}sw link set br0 up
  i=1
  for n in h a b; do
    ip netns add $P$n
    ip link add ${P}$n type veth peer name v$n netns ${P}sw
    ip link set ${P}$n netns $P$n
    ip -n $P$n link set ${P}$n name eth0
    ip -n $P$n addr add 198.51.100.$i/24 dev eth0
    ip -n $P$n link set eth0 up; ip -n $P$n link set lo up
    ip -n ${P}sw link set v$n master br0; ip -n ${P}sw link set v$n up
    i=$((i+1))
  done
  ip netns exec ${P}h node $DIST/cli.js hub --listen 198.51.100.1:7000 --network 10.9.0.0/24 --secret-file $D/secret --state-dir $D/h > $D/h.log 2>&1 & echo $! > $D/h.pid
  sleep 1
  ip netns exec ${P}a ${NODEPRE:-} node ${NODEOPTS:-} $DIST/cli.js peer --hub 198.51.100.1:7000 --local 10.9.0.2/24 --name a --secret-file $D/secret --state-dir $D/a --tun m0 --transport $TR --kcp-mode $MODE > $D/a.log 2>&1 & echo $! > $D/a.pid
  ip netns exec ${P}b ${NODEPRE:-} node ${NODEOPTS:-} $DIST/cli.js peer --hub 198.51.100.1:7000 --local 10.9.0.3/24 --name b --secret-file $D/secret --state-dir $D/b --tun m0 --transport $TR --kcp-mode $MODE > $D/b.log 2>&1 & echo $! > $D/b.pid
  for k in $(seq 1 40); do
    ip netns exec ${P}a ping -c1 -W1 10.9.0.3 >/dev/null 2>&1 && break; sleep 0.5
  done
  # wait for the direct path
  sleep 2
  ip netns exec ${P}a ping -c1 -W1 10.9.0.3 >/dev/null && echo "$P up"
  ;;
down)
  P=${1:-$P}; D=/tmp/$P
  for n in a b h; do [ -f $D/$n.pid ] && kill -INT $(cat $D/$n.pid) 2>/dev/null || true; done
  sleep 1
  for n in a b h; do [ -f $D/$n.pid ] && kill -9 $(cat $D/$n.pid) 2>/dev/null || true; rm -f $D/$n.pid; done
  for n in h a b sw; do ip netns del $P$n 2>/dev/null || true; done
  ;;
esac
