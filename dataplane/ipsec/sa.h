// The runtime Security Association the workers process packets with: what the ESP, AH
// and IPComp stages read per packet, laid out so that a packet touches few cache lines.
//
// Line 0 is read-only after install (identity, algorithms, lengths, the precomputed outer
// header fields); line 1 holds the outbound sequence counter and the lifetime byte count
// (written by the one worker that owns the SA); the inbound anti-replay window follows.
// Keys never live here: the crypto engine's session holds the key schedules.
//
// Ownership and lifetime (sad.h): the main lcore builds an Sa from a kSaAdd message,
// publishes its pointer, and frees it only after an RCU grace period once it is removed.
// A worker that reads `state` as kSaExpired treats the SA as gone (hard lifetime).
#pragma once

#include <cstdint>

#include "dataplane/compress/ipcomp.h"
#include "dataplane/crypto/engine.h"
#include "dataplane/ipsec/replay_window.h"

namespace arsec::dp {

inline constexpr uint8_t kProtoEsp = 50;
inline constexpr uint8_t kProtoAh = 51;
inline constexpr uint8_t kProtoComp = 108;
inline constexpr uint8_t kProtoIpip = 4;

enum class SaMode : uint8_t { kTunnel = 0, kTransport = 1 };
enum class SaEncap : uint8_t { kNone = 0, kNatT = 1, kEspUdp = 2 };  // RFC 3948 / seed 2746
enum class SaDfBit : uint8_t { kCopy = 0, kSet = 1, kClear = 2 };
enum class SaState : uint8_t { kValid = 1, kSoftExpired = 2, kExpired = 3 };

struct alignas(64) Sa {
  // ---- line 0: read-only after install ----
  const crypto::CryptoSession* session;  // ESP/AH; null for IPComp
  uint32_t spi_be;          // SPI (ESP/AH) in network order; IPComp: CPI in the low 16 bits
  uint32_t sa_id;
  uint32_t policy_id;
  uint32_t tun_src_be;      // tunnel mode: outer source (outbound) / expected source (inbound, 0 = any)
  uint32_t tun_dst_be;      // tunnel mode: outer destination / expected destination (0 = any)
  uint16_t encap_sport_be;  // UDP encapsulation ports (outbound: source/destination)
  uint16_t encap_dport_be;
  uint8_t proto;            // kProtoEsp, kProtoAh, kProtoComp
  SaMode mode;
  uint8_t inbound;          // 1 = inbound SA
  SaEncap encap;
  uint8_t esn;              // extended sequence numbers
  SaDfBit dfbit;
  compress::IpcompAlg comp_alg;
  uint8_t iv_len;           // ESP: CBC block / GCM 8; 0 for NULL, AH and IPComp
  uint8_t block_len;        // ESP padding alignment (at least 4)
  uint8_t digest_len;       // ICV bytes
  uint8_t aead;             // GCM
  uint8_t state;            // SaState, written by the main lcore (atomically)
  uint16_t cpi;             // IPComp CPI, host order
  uint16_t pad0;
  uint64_t hard_bytes;      // 0 = no limit: the worker drops past it (kSaExpired follows)
  uint8_t session_lines;    // cache lines of the session the engine reads (prefetched)
  uint8_t pad1[64 - 57];

  // ---- line 1: mutable, owned by the worker processing the SA ----
  OutboundSeq seq;          // outbound
  uint64_t bytes;           // payload bytes processed by the owner (lifetimes)
  uint8_t pad2[64 - sizeof(OutboundSeq) - 8];

  // ---- lines 2..4: inbound ----
  ReplayWindow1024 replay;
};
static_assert(offsetof(Sa, seq) == 64, "mutable state starts on its own line");

}  // namespace arsec::dp
