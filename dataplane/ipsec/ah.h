// AH (RFC 4302) over IPv4 on rte_mbufs: tunnel and transport mode, HMAC-MD5-96,
// HMAC-SHA1-96 and HMAC-SHA2-256/384/512 (ICV 12/12/16/24/32 bytes; the AH header is
// padded to a multiple of 4 bytes for IPv4), Extended Sequence Numbers.
//
// The ICV covers the IPv4 header with its mutable fields zeroed (TOS, flags + fragment
// offset, TTL, checksum; options per RFC 4302 Appendix A.1: the immutable ones kept,
// every other option zeroed whole), the AH header with the ICV zeroed, the payload, and
// with ESN the high 32 bits of the sequence number appended after the payload (section
// 3.3.3.2.1: authenticated, never sent). The op is auth-only: the SA's session has the
// NULL cipher and an HMAC (crypto/ipsec_mb_engine: cipher_len 0 is accepted for NULL).
//
// Two phases as for ESP (esp.h): Prepare zeroes the mutable fields in the packet after
// saving the real header in the OpScratch, and (ESN) appends the 4 high bytes; Finish
// restores the header, removes the 4 bytes, and inbound strips AH (tunnel: the outer
// header too). The OpScratch must stay untouched between the two.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

#include "dataplane/crypto/engine.h"
#include "dataplane/ipsec/sa.h"
#include "dataplane/ipsec/stage_common.h"

namespace arsec::dp {

// AH header bytes for an ICV of icv_len: 12 fixed + ICV, padded to 4 (IPv4).
constexpr uint32_t AhHeaderLen(uint32_t icv_len) { return 12 + (icv_len + 3) / 4 * 4; }

// seq: 64-bit sequence number (low 32 sent). ip_id: host-order ID of a new outer header.
StageVerdict AhOutboundPrepare(const Sa& sa, rte_mbuf* m, uint64_t seq, uint16_t ip_id,
                               crypto::CryptoOp* op, OpScratch* sc);
StageVerdict AhOutboundFinish(const Sa& sa, rte_mbuf* m, const crypto::CryptoOp* op,
                              OpScratch* sc);

// The SPI (network order) and low sequence number of the AH packet m starts with.
bool AhParse(const rte_mbuf* m, uint32_t* spi_be, uint32_t* seq_low);
// seq64: the full sequence number from the replay window's Check.
StageVerdict AhInboundPrepare(const Sa& sa, rte_mbuf* m, uint64_t seq64, crypto::CryptoOp* op,
                              OpScratch* sc);
// On kOk *next_proto is AH's next header (4 in tunnel mode). Always call it after a
// successful Prepare (it also undoes Prepare's edits when the ICV failed).
StageVerdict AhInboundFinish(const Sa& sa, rte_mbuf* m, const crypto::CryptoOp* op,
                             OpScratch* sc, uint8_t* next_proto);

// Zeroes the mutable fields of the IPv4 header at ip (ihl bytes) for the ICV. With
// `sender`, a source route option's final address replaces the destination (mutable
// but predictable, RFC 4302 section 3.3.3.1.1.1). Exposed for tests.
void AhZeroMutable(uint8_t* ip, unsigned ihl, bool sender);

}  // namespace arsec::dp
