// The IPComp stage (RFC 3173) on rte_mbufs, over compress::IpcompContext. Synchronous
// (no crypto op): the codec runs on the worker.
//
// Outbound, tunnel mode: the whole inner packet is compressed behind a new outer header,
//   [outer IPv4, proto 108][IPComp hdr, nh 4][compressed inner packet]
// transport mode: the payload after the IP header is,
//   [IPv4 + options, proto 108][IPComp hdr, nh = old protocol][compressed payload]
// A packet that does not shrink (or is below the codec's threshold) goes out
// uncompressed, RFC 3173 section 2.2: tunnel mode then sends it as plain IP-in-IP under
// the same outer header, transport mode leaves it as it was. The verdict is then
// kNotCompressed, a success the pipeline counts apart.
//
// In a bundle only the first SA is tunnel mode, so COMP(tunnel) then ESP(transport)
// yields outer IPv4 | ESP | IPComp | inner: ESP transport wraps the header this stage
// built. Inbound the pipeline peels in reverse and calls IpcompInbound with the packet
// ESP left (protocol 108, or 4 when the sender did not compress).
//
// Both directions go through a caller-provided scratch buffer (the codec must not write
// over its input) and copy the result back into the mbuf; a result that does not fit the
// mbuf's data room is kNoRoom. No allocation, no syscalls.
#pragma once

#include <rte_mbuf.h>

#include <cstddef>
#include <cstdint>

#include "dataplane/compress/ipcomp.h"
#include "dataplane/ipsec/sa.h"
#include "dataplane/ipsec/stage_common.h"

namespace arsec::dp {

// A scratch this large holds any IPv4 packet.
inline constexpr size_t kIpcompScratchBytes = 65536;

// ip_id: host-order ID of the new outer header (tunnel mode). scratch: scratch_cap bytes,
// at least the packet's length (else the packet is sent uncompressed).
// kOk (compressed), kNotCompressed, kNoRoom (tunnel: no headroom for the outer header),
// kBadInner (transport: no valid IPv4 header).
StageVerdict IpcompOutbound(const Sa& sa, rte_mbuf* m, compress::IpcompContext& ctx,
                            uint16_t ip_id, uint8_t* scratch, size_t scratch_cap);

// Decompresses m (IPv4 protocol 108) in place. Tunnel SA: m becomes the inner packet
// (also from an uncompressed IP-in-IP packet: kNotCompressed); transport SA: the IP
// header stays with protocol = IPComp's next header (a packet that is not IPComp is
// left alone: kNotCompressed). On kOk / kNotCompressed *next_proto is the protocol that
// follows (4 in tunnel mode). Errors: kBadLength, kBadHeader (flags, next header, a
// protocol the SA cannot carry), kBadCpi, kDecompressFailed, kNoRoom (the result does
// not fit the mbuf or the scratch), kBadInner (tunnel: not a valid IPv4 packet).
StageVerdict IpcompInbound(const Sa& sa, rte_mbuf* m, compress::IpcompContext& ctx,
                           uint8_t* scratch, size_t scratch_cap, uint8_t* next_proto);

}  // namespace arsec::dp
