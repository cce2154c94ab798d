#!/bin/bash
# A second test peer (gw-b) certified by the same test CA as rsa-peer-cert.pem (gw-a), for
# RSASIG between two engines (tests/unit/ike/engine_test.cc) and against strongSwan
# (tests/integration/test_ike_strongswan.py). Test-only key material; made once with
# the openssl CLI and committed, like the files make_crypto_vectors.py wrote.
# The key is in the traditional "RSA PRIVATE KEY" form, which strongSwan's pkcs1 plugin
# reads without the pkcs8 plugin; arsec reads both forms.
set -euo pipefail
cd "$(dirname "$0")"
[ -e rsa-peer2-cert.pem ] && { echo "rsa-peer2-cert.pem exists; remove it to remake"; exit 0; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$tmp/key.pem"
openssl pkey -in "$tmp/key.pem" -traditional -out rsa-peer2-key.pem
cat >"$tmp/ext.cnf" <<EXT
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
subjectAltName=DNS:gw-b.example.test,email:gw-b@example.test,IP:198.51.100.2
EXT
openssl req -new -key rsa-peer2-key.pem -subj "/C=JP/O=arsec test/OU=vpn/CN=gw-b" \
  -out "$tmp/peer2.csr"
openssl x509 -req -in "$tmp/peer2.csr" -CA rsa-ca-cert.pem -CAkey rsa-ca-key.pem \
  -set_serial 3 -days 36500 -extfile "$tmp/ext.cnf" -out rsa-peer2-cert.pem
