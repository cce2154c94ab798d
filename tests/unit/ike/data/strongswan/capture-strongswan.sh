#!/bin/bash
# Captures IKEv1 Main Mode and Aggressive Mode between two strongSwan 5.9.8 peers (the
# harness /work/shared/peers/strongswan-peer.sh) in two namespaces of our own (codec-a,
# codec-b), writing strongswan-v1-main.pcap and strongswan-v1-aggr.pcap into $OUT.
# Run as root; everything it creates is removed at the end. extract_strongswan.py turns
# the plaintext messages into tests/unit/ike/codec_strongswan.inc.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
# swanctl prints "plugin 'x': failed to load" lines that the harness takes for errors.
export SSP_SWANCTL=$HERE/capture-swanctl-wrap.sh
S=/work/shared/peers/strongswan-peer.sh
OUT=${OUT:-/tmp/codec-capture}
mkdir -p "$OUT"
$S ns-add codec-a codec-b
$S veth codec-a:wan0:192.168.211.1/24 codec-b:wan0:192.168.211.2/24
$S veth codec-a:lan0:10.211.1.1/24 codec-b:lan0:10.211.2.1/24
run_case() {
  name=$1; shift
  ip netns exec codec-a tshark -n -i wan0 -f 'udp port 500 or udp port 4500' -F pcap \
    -w "$OUT/strongswan-v1-$name.pcap" >/dev/null 2>&1 &
  TS=$!
  sleep 2
  $S up cb codec-b --replace --local 192.168.211.2 --remote 192.168.211.1 \
    --local-ts 10.211.2.0/24 --remote-ts 10.211.1.0/24 --psk s3cret "$@" $B_ARGS
  $S up ca codec-a --replace --local 192.168.211.1 --remote 192.168.211.2 \
    --local-ts 10.211.1.0/24 --remote-ts 10.211.2.0/24 --psk s3cret "$@" $A_ARGS --initiate
  sleep 1
  $S down ca; $S down cb
  sleep 1
  kill $TS; wait $TS
}
B_ARGS="" A_ARGS=""
run_case main --ike v1-main --ike-proposal aes128-sha1-modp1024,3des-md5-modp768 \
  --esp aes128-sha1-modp1024 --dpd 10
B_ARGS="--local-id keyid:right-gw-key --remote-id fqdn:left.example.test"
A_ARGS="--local-id fqdn:left.example.test --remote-id keyid:right-gw-key"
run_case aggr --ike v1-aggr --ike-proposal aes256-sha256-modp2048 --esp aes128-sha1
$S ns-del --kill codec-a codec-b
ls -la "$OUT"
