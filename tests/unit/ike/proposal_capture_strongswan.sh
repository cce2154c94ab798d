#!/bin/bash
# Runs IKEv1 Main Mode + Quick Mode between two strongSwan 5.9.8 peers (the harness
# /work/shared/peers/strongswan-peer.sh, copied with the "enc" log level raised to 3 so
# that charon dumps the plaintext of its encrypted messages) in two namespaces of our own
# (prop-a, prop-b, removed afterwards), keeping each side's charon.log in $OUT as
# CASE-init.log / CASE-resp.log. make_proposal_vectors.py turns them into
# proposal_vectors.inc. Run as root. The PSK is a test value; the logs hold no other
# secret than that case's phase 1 keys, which die with the namespaces.
set -u
OUT=${OUT:-/tmp/proposal-capture}
WORK=$(mktemp -d)
sed 's/^      default = 1$/      default = 1\n      enc = 3/' /work/shared/peers/strongswan-peer.sh \
  > "$WORK/peer.sh"
chmod +x "$WORK/peer.sh"
export SSP_SWANCTL=$(cd "$(dirname "$0")" && pwd)/data/strongswan/capture-swanctl-wrap.sh
export SSP_RUNDIR=$WORK/run
S=$WORK/peer.sh
mkdir -p "$OUT"
$S ns-add prop-a prop-b
$S veth prop-a:wan0:192.168.212.1/24 prop-b:wan0:192.168.212.2/24
$S veth prop-a:lan0:10.212.1.1/24 prop-b:lan0:10.212.2.1/24
run_case() {
  name=$1; shift
  $S up pb prop-b --replace --local 192.168.212.2 --remote 192.168.212.1 \
    --local-ts 10.212.2.0/24 --remote-ts 10.212.1.0/24 --psk s3cret "$@"
  $S up pa prop-a --replace --local 192.168.212.1 --remote 192.168.212.2 \
    --local-ts 10.212.1.0/24 --remote-ts 10.212.2.0/24 --psk s3cret "$@" --initiate
  sleep 1
  cp "$SSP_RUNDIR/pa/charon.log" "$OUT/$name-init.log"
  cp "$SSP_RUNDIR/pb/charon.log" "$OUT/$name-resp.log"
  $S down pa; $S down pb
  sleep 1
}
# PFS (group 2) with two ESP transforms in one proposal.
run_case pfs --ike v1-main --ike-proposal aes128-sha1-modp1024 \
  --esp aes128-sha1-modp1024,3des-md5-modp1024 --esp-rekey 3600
# AES-GCM-16 first, AES-CBC + SHA2-256 second, no PFS.
run_case gcm --ike v1-main --ike-proposal aes256-sha256-modp2048 --esp aes256gcm16,aes128-sha256
# SHA-384/512 with AES-192/256, PFS group 14, IPComp requested.
run_case sha2 --ike v1-main --ike-proposal aes192-sha384-modp2048 \
  --esp aes192-sha384-modp2048,aes256-sha512-modp2048 --ipcomp
$S ns-del --kill prop-a prop-b
rm -rf "$WORK"
ls -la "$OUT"
