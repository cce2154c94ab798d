#!/bin/bash
# swanctl with the harmless "plugin 'x': failed to load" lines dropped from its stderr:
# the shared peer harness (../shared/peers/strongswan-peer.sh) greps swanctl's output for
# "fail" and would otherwise refuse to start a peer. Used through SSP_SWANCTL.
exec 3>&1
swanctl "$@" 2>&1 1>&3 | grep -v "^plugin '.*': failed to load" >&2
exit "${PIPESTATUS[0]}"
