#!/bin/bash
# Measures one lab (bench/dataplane/lab.sh): ping RTT median, iperf3 TCP a->b, and the daemons' CPU
# time per packet crossing the TUN (utime+stime from /proc/PID/stat over the iperf3 run).
#   bench/dataplane/measure.sh PREFIX [SECONDS]
set -euo pipefail
P=$1; T=${2:-8}; D=/tmp/$P
cpu() { awk '{print $14+$15}' /proc/$1/stat; }
pk() { ip netns exec $1 cat /sys/class/net/m0/statistics/$2; }
med=$(ip netns exec ${P}a ping -c 40 -i 0.05 10.9.0.3 | awk -F'time=' '/time=/{split($2,a," "); print a[1]}' | sort -n | awk '{v[NR]=$1} END{print v[int((NR+1)/2)]}')
A=$(cat $D/a.pid); B=$(cat $D/b.pid)
# the pid file holds `ip netns exec`'s pid, which execs node: same pid
ip netns exec ${P}b iperf3 -s -1 -D -p 5201; sleep 0.3
a0=$(cpu $A); b0=$(cpu $B); ta0=$(pk ${P}a rx_packets); tb0=$(pk ${P}b tx_packets); pa0=$(pk ${P}a tx_packets); pb0=$(pk ${P}b rx_packets)
bps=$(ip netns exec ${P}a iperf3 -c 10.9.0.3 -t $T -p 5201 -J | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const j=JSON.parse(s);console.log((j.end.sum_received.bits_per_second/1e6).toFixed(1)+" "+j.end.sum_sent.retransmits)})')
a1=$(cpu $A); b1=$(cpu $B); ta1=$(pk ${P}a rx_packets); tb1=$(pk ${P}b tx_packets); pa1=$(pk ${P}a tx_packets); pb1=$(pk ${P}b rx_packets)
pkts=$(( (pa1-pa0) + (pb1-pb0) + (ta1-ta0) + (tb1-tb0) ))
hz=$(getconf CLK_TCK)
echo "$P ping_med_ms=$med mbit_retr=[$bps] cpu_a=$(( (a1-a0)*1000/hz ))ms cpu_b=$(( (b1-b0)*1000/hz ))ms tun_pkts=$pkts us_per_pkt=$(node -e "console.log((($a1-$a0+$b1-$b0)/$hz*1e6/$pkts).toFixed(2))") load=$(cut -d' ' -f1 /proc/loadavg)"
