// ESP (RFC 4303) over IPv4 on rte_mbufs: tunnel and transport mode, every cipher and
// integrity algorithm of crypto/engine.h, Extended Sequence Numbers, and UDP
// encapsulation (RFC 3948 NAT-T, and the seed's ESP-over-UDP on port 2746, same layout).
//
// Crypto is two-phase because engines may be asynchronous (crypto/engine.h):
//   v = EspOutboundPrepare(sa, m, seq, ivs, ip_id, &ops[i], &scratch[i]);  // edits m
//   ... engine.Enqueue(ops) / engine.Dequeue(...) ...
//   v = EspOutboundFinish(sa, m, op, &scratch[i]);
// Prepare lays the packet out completely (headers, IV, padding, trailer) and fills one
// CryptoOp whose pointers stay valid until Finish: into the packet, or into the
// caller's OpScratch (GCM AAD, the received ICV). op->user is the mbuf. A Prepare that
// does not return kOk leaves no op to run (and, for kNoRoom / kBadLength, m unchanged).
//
// Outbound layout (tunnel):    [outer IPv4][UDP]?[ESP SPI|seq][IV][inner packet][pad][pl|nh][ICV]
// Outbound layout (transport): [IPv4 + options][UDP]?[ESP][IV][payload][pad][pl|nh][ICV]
// Padding is 1, 2, 3, ... up to the SA's block_len (at least 4). GCM's explicit IV is
// the 64-bit sequence number (RFC 4106 section 3.1: unique per key is all it needs).
//
// ESN (RFC 4303 section 2.2.1): the high 32 bits are authenticated but never sent. With
// HMAC they are written where the ICV goes and the auth range extends over them; the
// engine then writes the ICV over them (outbound), or compares against the received
// ICV that Prepare copied to the scratch first (inbound). With GCM they go in the AAD.
//
// Inbound, the pipeline first calls EspParse (SAD lookup by SPI, replay Check giving
// seq64), then Prepare / crypto / Finish, then replay Update when Finish says kOk.
// Finish checks the padding (RFC 4303 section 2.4), drops dummy packets (next header
// 59), and decapsulates: tunnel mode leaves the inner packet, transport mode the IP
// header (protocol = next header) followed by the payload.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

#include "dataplane/crypto/engine.h"
#include "dataplane/ipsec/iv_source.h"
#include "dataplane/ipsec/sa.h"
#include "dataplane/ipsec/stage_common.h"

namespace arsec::dp {

inline constexpr uint16_t kNatTPort = 4500;    // RFC 3948
inline constexpr uint16_t kEspUdpPort = 2746;  // the seed's ESP-over-UDP

// ---- outbound ----
// seq: the 64-bit sequence number from sa.seq (low 32 bits sent; with ESN the high 32
// authenticated). ip_id: host-order Identification of a new outer header (tunnel mode).
StageVerdict EspOutboundPrepare(const Sa& sa, rte_mbuf* m, uint64_t seq, IvSource& ivs,
                                uint16_t ip_id, crypto::CryptoOp* op, OpScratch* sc);
// kOk, or kCryptoError when the engine failed the op.
StageVerdict EspOutboundFinish(const Sa& sa, rte_mbuf* m, const crypto::CryptoOp* op,
                               OpScratch* sc);

// ---- inbound ----
// The SPI (network order) and low sequence number (host order) of the ESP packet m
// starts with (IPv4 protocol 50; UdpEncapStrip first for ESP-in-UDP). False when the
// packet is not IPv4 ESP or too short to hold the ESP header.
bool EspParse(const rte_mbuf* m, uint32_t* spi_be, uint32_t* seq_low);

// seq64: the full sequence number from the replay window's Check.
StageVerdict EspInboundPrepare(const Sa& sa, rte_mbuf* m, uint64_t seq64,
                               crypto::CryptoOp* op, OpScratch* sc);
// On kOk *next_proto is the next header (4 in tunnel mode; the protocol now in the IP
// header in transport mode, e.g. 108 when IPComp follows in a bundle). On any other
// verdict the packet is to be dropped; its payload is undefined (decrypted in place).
StageVerdict EspInboundFinish(const Sa& sa, rte_mbuf* m, const crypto::CryptoOp* op,
                              OpScratch* sc, uint8_t* next_proto);

// For an IPv4/UDP packet to port 4500 or 2746 (the pipeline recognises the port):
// kOk when it carried ESP, now without the UDP header (protocol 50, lengths and
// checksum fixed) ready for EspParse; kKeepalive for a NAT-T keepalive (one 0xff byte);
// kNonEsp for the non-ESP marker (four zero bytes: IKE, punt unchanged); kBadLength
// when it can be none of these.
StageVerdict UdpEncapStrip(rte_mbuf* m);

// RFC 3948 section 3.1.2, for a packet that came out of a UDP-encapsulated TRANSPORT-mode
// bundle (data at its IPv4 header): the sender computed the TCP/UDP checksum over its own
// addresses, which a NAT on the way has since rewritten in the (unprotected) IP header,
// so the checksum is recomputed over the addresses the packet has now (method 3 of the
// RFC; integrity is the SA's job, the ICV already vouched for the payload). A UDP
// checksum of 0 (none) stays 0. Packets that are not whole TCP/UDP (fragments, short
// segments, a UDP length that disagrees with the IP length) are left as they are: the
// receiving stack rejects them on its own.
void NatTTransportFixChecksum(rte_mbuf* m);

}  // namespace arsec::dp
