// ESP encapsulation and decapsulation on mbufs. See esp.h for the layout and the
// two-phase contract; the notes here are about the byte-level choices.
#include "dataplane/ipsec/esp.h"

#include <rte_ip.h>

#include <cstring>

namespace arsec::dp {
namespace {

constexpr uint32_t kEspHdr = 8;  // SPI + sequence number
constexpr uint32_t kUdpHdr = 8;
constexpr uint32_t kMaxIpLen = 65535;

// The padding alignment: the SA's block length, never below 4 (RFC 4303 section 2.4).
// Every cipher's block is a power of two (1, 8, 16), so alignment is a mask.
inline uint32_t Align(const Sa& sa) { return sa.block_len < 4 ? 4u : sa.block_len; }

// With HMAC and ESN the high half of the sequence number is appended to the auth range
// (written where the ICV goes). GCM carries it in the AAD instead; NULL auth has no ICV.
inline bool EsnInIcvArea(const Sa& sa) { return sa.esn && !sa.aead && sa.digest_len != 0; }

// The padding bytes 1, 2, 3, ... (RFC 4303 section 2.4) behind 16 zeros: kPadSeq + 16 is
// the padding itself, and the 16 bytes at kPadSeq + k are what the 16 bytes ending at
// a padding of k <= 16 must hold in their last k bytes (kPadMask + k selects those).
alignas(64) constexpr uint8_t kPadSeq[32] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                             1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
alignas(64) constexpr uint8_t kPadMask[32] = {
    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

inline uint64_t Load64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

// Writes pad_len padding bytes at t; `room` bytes may be written from t on (the
// trailer and ICV are written after it). One 16-byte copy in the common case.
inline void WritePadding(uint8_t* t, uint32_t pad_len, uint32_t room) {
  if (pad_len <= 16 && room >= 16) {
    std::memcpy(t, kPadSeq + 16, 16);
  } else {
    for (uint32_t i = 0; i < pad_len; ++i) t[i] = static_cast<uint8_t>(i + 1);
  }
}

// Whether the pad_len bytes that end at end (exclusive) are 1, 2, 3, ...; the 16 bytes
// before end must be readable (they are: the ESP header and IV precede the payload).
inline bool PaddingOk(const uint8_t* end, uint32_t pad_len) {
  if (pad_len <= 16) {
    const uint8_t* q = end - 16;
    const uint64_t bad = ((Load64(q) ^ Load64(kPadSeq + pad_len)) & Load64(kPadMask + pad_len)) |
                         ((Load64(q + 8) ^ Load64(kPadSeq + pad_len + 8)) &
                          Load64(kPadMask + pad_len + 8));
    return bad == 0;
  }
  const uint8_t* pad = end - pad_len;
  uint8_t bad = 0;
  for (uint32_t i = 0; i < pad_len; ++i) bad |= pad[i] ^ static_cast<uint8_t>(i + 1);
  return bad == 0;
}

inline void WriteAad(const Sa& sa, uint64_t seq, uint8_t* aad, uint8_t* aad_len) {
  std::memcpy(aad, &sa.spi_be, 4);
  if (sa.esn) {
    StoreBe32(aad + 4, static_cast<uint32_t>(seq >> 32));
    StoreBe32(aad + 8, static_cast<uint32_t>(seq));
    *aad_len = 12;
  } else {
    StoreBe32(aad + 4, static_cast<uint32_t>(seq));
    *aad_len = 8;
  }
}

}  // namespace

StageVerdict EspOutboundPrepare(const Sa& sa, rte_mbuf* m, uint64_t seq, IvSource& ivs,
                                uint16_t ip_id, crypto::CryptoOp* op, OpScratch* sc) {
  uint8_t* in = rte_pktmbuf_mtod(m, uint8_t*);
  const uint32_t in_len = rte_pktmbuf_data_len(m);
  const bool tunnel = sa.mode == SaMode::kTunnel;
  uint32_t ihl = 0;  // transport: the IP header kept in front
  if (!tunnel) {
    ihl = Ipv4HeaderLen(in, in_len);
    if (ihl == 0) return StageVerdict::kBadInner;
  } else if (in_len < 20) {
    return StageVerdict::kBadInner;
  }
  const uint8_t nh = tunnel ? kProtoIpip : in[9];
  const uint32_t payload_len = in_len - ihl;
  const uint32_t udp = sa.encap != SaEncap::kNone ? kUdpHdr : 0;
  const uint32_t iv_len = sa.iv_len;
  const uint32_t icv_len = sa.digest_len;
  const uint32_t align = Align(sa);
  const uint32_t padded = (payload_len + 2 + align - 1) & ~(align - 1);  // payload..nh
  const uint32_t pad_len = padded - payload_len - 2;
  const uint32_t outer = tunnel ? 20 : 0;
  const uint32_t head_add = outer + udp + kEspHdr + iv_len;
  const uint32_t tail_add = pad_len + 2 + icv_len;
  if (in_len + head_add + tail_add > kMaxIpLen) return StageVerdict::kBadLength;
  if (rte_pktmbuf_headroom(m) < head_add || rte_pktmbuf_tailroom(m) < tail_add)
    return StageVerdict::kNoRoom;

  const uint32_t total = in_len + head_add + tail_add;
  const uint8_t ip_proto = udp != 0 ? kProtoUdp : kProtoEsp;
  uint16_t ck = 0;  // transport: summed before the header moves (stage_common.h)
  if (!tunnel) ck = Ipv4CksumEdited(in, ihl, static_cast<uint16_t>(total), ip_proto);
  uint8_t* p = reinterpret_cast<uint8_t*>(rte_pktmbuf_prepend(m, static_cast<uint16_t>(head_add)));
  MbufAppend(m, tail_add);
  const uint32_t ip_hdr = tunnel ? 20 : ihl;
  if (!tunnel) std::memmove(p, in, ihl);  // the IP header moves to the new front
  uint8_t* esp = p + ip_hdr + udp;
  const uint32_t esp_len = kEspHdr + iv_len + padded + icv_len;

  if (udp != 0) {  // RFC 3948 section 2.1: checksum 0
    uint8_t* u = p + ip_hdr;
    std::memcpy(u, &sa.encap_sport_be, 2);
    std::memcpy(u + 2, &sa.encap_dport_be, 2);
    StoreBe16(u + 4, static_cast<uint16_t>(udp + esp_len));
    u[6] = u[7] = 0;
  }
  if (tunnel) {
    WriteOuterIpv4(p, sa, in, static_cast<uint16_t>(total), ip_proto, ip_id);
  } else {
    p[9] = ip_proto;
    StoreBe16(p + 2, static_cast<uint16_t>(total));
    std::memcpy(p + 10, &ck, 2);
  }

  std::memcpy(esp, &sa.spi_be, 4);
  StoreBe32(esp + 4, static_cast<uint32_t>(seq));
  uint8_t* iv = esp + kEspHdr;
  if (sa.aead) {
    StoreBe32(iv, static_cast<uint32_t>(seq >> 32));
    StoreBe32(iv + 4, static_cast<uint32_t>(seq));
  } else if (iv_len != 0) {
    ivs.Fill(iv, iv_len);
  }
  uint8_t* trailer = iv + iv_len + payload_len;
  WritePadding(trailer, pad_len, pad_len + 2 + icv_len + rte_pktmbuf_tailroom(m));
  trailer[pad_len] = static_cast<uint8_t>(pad_len);
  trailer[pad_len + 1] = nh;
  uint8_t* icv = trailer + pad_len + 2;

  op->session = sa.session;
  op->data = esp;
  op->iv = iv_len != 0 ? iv : nullptr;
  op->digest = icv_len != 0 ? icv : nullptr;
  op->user = m;
  op->cipher_offset = static_cast<uint16_t>(kEspHdr + iv_len);
  op->cipher_len = static_cast<uint16_t>(padded);
  op->auth_offset = 0;
  uint32_t auth_len = kEspHdr + iv_len + padded;
  if (EsnInIcvArea(sa)) {
    StoreBe32(icv, static_cast<uint32_t>(seq >> 32));  // the ICV overwrites it
    auth_len += 4;
  }
  op->auth_len = static_cast<uint16_t>(auth_len);
  if (sa.aead) {
    WriteAad(sa, seq, sc->aad, &op->aad_len);
    op->aad = sc->aad;
  } else {
    op->aad = nullptr;
    op->aad_len = 0;
  }
  op->dir = crypto::CryptoDir::kEncrypt;
  op->status = crypto::CryptoStatus::kNotProcessed;
  return StageVerdict::kOk;
}

StageVerdict EspOutboundFinish(const Sa&, rte_mbuf*, const crypto::CryptoOp* op, OpScratch*) {
  return op->status == crypto::CryptoStatus::kOk ? StageVerdict::kOk
                                                  : StageVerdict::kCryptoError;
}

bool EspParse(const rte_mbuf* m, uint32_t* spi_be, uint32_t* seq_low) {
  const auto* ip = rte_pktmbuf_mtod(m, const uint8_t*);
  const uint32_t len = rte_pktmbuf_data_len(m);
  const unsigned ihl = Ipv4HeaderLen(ip, len);
  if (ihl == 0 || ip[9] != kProtoEsp || len < ihl + kEspHdr) return false;
  std::memcpy(spi_be, ip + ihl, 4);
  *seq_low = LoadBe32(ip + ihl + 4);
  return true;
}

StageVerdict EspInboundPrepare(const Sa& sa, rte_mbuf* m, uint64_t seq64,
                               crypto::CryptoOp* op, OpScratch* sc) {
  unsigned ihl;
  uint32_t tl;
  if (!OuterIpv4(m, &ihl, &tl)) return StageVerdict::kBadLength;
  uint8_t* p = rte_pktmbuf_mtod(m, uint8_t*);
  if (p[9] != kProtoEsp) return StageVerdict::kBadHeader;
  const uint32_t iv_len = sa.iv_len;
  const uint32_t icv_len = sa.digest_len;
  const uint32_t esp_len = tl - ihl;
  if (esp_len < kEspHdr + iv_len + icv_len + Align(sa)) return StageVerdict::kBadLength;
  const uint32_t cipher_len = esp_len - kEspHdr - iv_len - icv_len;
  if ((cipher_len & (Align(sa) - 1)) != 0) return StageVerdict::kBadLength;

  uint8_t* esp = p + ihl;
  uint8_t* icv = esp + kEspHdr + iv_len + cipher_len;
  op->session = sa.session;
  op->data = esp;
  op->iv = iv_len != 0 ? esp + kEspHdr : nullptr;
  op->user = m;
  op->cipher_offset = static_cast<uint16_t>(kEspHdr + iv_len);
  op->cipher_len = static_cast<uint16_t>(cipher_len);
  op->auth_offset = 0;
  uint32_t auth_len = kEspHdr + iv_len + cipher_len;
  if (EsnInIcvArea(sa)) {
    std::memcpy(sc->icv, icv, icv_len);
    StoreBe32(icv, static_cast<uint32_t>(seq64 >> 32));
    auth_len += 4;
    op->digest = sc->icv;
  } else {
    op->digest = icv_len != 0 ? icv : nullptr;
  }
  op->auth_len = static_cast<uint16_t>(auth_len);
  if (sa.aead) {
    WriteAad(sa, seq64, sc->aad, &op->aad_len);
    op->aad = sc->aad;
  } else {
    op->aad = nullptr;
    op->aad_len = 0;
  }
  op->dir = crypto::CryptoDir::kDecrypt;
  op->status = crypto::CryptoStatus::kNotProcessed;
  return StageVerdict::kOk;
}

StageVerdict EspInboundFinish(const Sa& sa, rte_mbuf* m, const crypto::CryptoOp* op,
                              OpScratch*, uint8_t* next_proto) {
  // After a failure the payload is undefined: engines decrypt in place regardless.
  if (op->status != crypto::CryptoStatus::kOk)
    return op->status == crypto::CryptoStatus::kAuthFailed ? StageVerdict::kAuthFailed
                                                          : StageVerdict::kCryptoError;
  // Prepare validated the header and trimmed m to the IP total length.
  uint8_t* p = rte_pktmbuf_mtod(m, uint8_t*);
  const uint32_t ihl = (p[0] & 0xfu) * 4u;
  const uint32_t iv_len = sa.iv_len;
  const uint32_t icv_len = sa.digest_len;
  const uint32_t cipher_len = op->cipher_len;
  const uint8_t* plain = p + ihl + kEspHdr + iv_len;
  const uint32_t pad_len = plain[cipher_len - 2];
  const uint8_t nh = plain[cipher_len - 1];
  if (pad_len + 2 > cipher_len) return StageVerdict::kBadTrailer;
  const uint32_t payload_len = cipher_len - 2 - pad_len;
  if (!PaddingOk(plain + payload_len + pad_len, pad_len)) return StageVerdict::kBadTrailer;
  if (nh == kProtoNone) return StageVerdict::kDummy;
  const uint32_t head = ihl + kEspHdr + iv_len;
  const uint32_t tail = pad_len + 2 + icv_len;

  if (sa.mode == SaMode::kTunnel) {
    if (nh != kProtoIpip) return StageVerdict::kBadInner;
    const uint32_t inner_len = CheckInnerIpv4(plain, payload_len);
    if (inner_len == 0) return StageVerdict::kBadInner;
    rte_pktmbuf_adj(m, static_cast<uint16_t>(head));
    MbufTrim(m, tail + payload_len - inner_len);  // + TFC padding
  } else {
    const uint16_t ck = Ipv4CksumEdited(p, ihl, static_cast<uint16_t>(ihl + payload_len), nh);
    std::memmove(p + kEspHdr + iv_len, p, ihl);
    p = reinterpret_cast<uint8_t*>(rte_pktmbuf_adj(m, static_cast<uint16_t>(kEspHdr + iv_len)));
    MbufTrim(m, tail);
    p[9] = nh;
    StoreBe16(p + 2, static_cast<uint16_t>(ihl + payload_len));
    std::memcpy(p + 10, &ck, 2);
  }
  *next_proto = nh;
  return StageVerdict::kOk;
}

StageVerdict UdpEncapStrip(rte_mbuf* m) {
  unsigned ihl;
  uint32_t tl;
  if (!OuterIpv4(m, &ihl, &tl)) return StageVerdict::kBadLength;
  uint8_t* p = rte_pktmbuf_mtod(m, uint8_t*);
  if (p[9] != kProtoUdp || tl < ihl + kUdpHdr) return StageVerdict::kBadHeader;
  const uint32_t udp_len = LoadBe16(p + ihl + 4);
  if (udp_len != tl - ihl) return StageVerdict::kBadLength;
  const uint8_t* body = p + ihl + kUdpHdr;
  const uint32_t body_len = udp_len - kUdpHdr;
  if (body_len == 1 && body[0] == 0xff) return StageVerdict::kKeepalive;
  if (body_len >= 4 && LoadBe32(body) == 0) return StageVerdict::kNonEsp;
  if (body_len < kEspHdr) return StageVerdict::kBadLength;
  const uint16_t ck = Ipv4CksumEdited(p, ihl, static_cast<uint16_t>(tl - kUdpHdr), kProtoEsp);
  std::memmove(p + kUdpHdr, p, ihl);
  p = reinterpret_cast<uint8_t*>(rte_pktmbuf_adj(m, kUdpHdr));
  p[9] = kProtoEsp;
  StoreBe16(p + 2, static_cast<uint16_t>(tl - kUdpHdr));
  std::memcpy(p + 10, &ck, 2);
  return StageVerdict::kOk;
}

void NatTTransportFixChecksum(rte_mbuf* m) {
  constexpr uint8_t kProtoTcp = 6;
  uint8_t* p = rte_pktmbuf_mtod(m, uint8_t*);
  const uint32_t len = rte_pktmbuf_data_len(m);
  if (len < 20) return;
  const unsigned ihl = (p[0] & 0xfu) * 4u;
  const uint32_t tl = LoadBe16(p + 2);
  if (ihl < 20 || tl < ihl || tl > len) return;
  if ((LoadBe16(p + 6) & kIpv4FragMask) != 0) return;
  uint8_t* l4 = p + ihl;
  const uint32_t l4_len = tl - ihl;
  unsigned off;
  if (p[9] == kProtoTcp) {
    if (l4_len < 20) return;
    off = 16;
  } else if (p[9] == kProtoUdp) {
    if (l4_len < kUdpHdr || LoadBe16(l4 + 4) != l4_len) return;
    if (LoadBe16(l4 + 6) == 0) return;  // the sender sent none
    off = 6;
  } else {
    return;
  }
  l4[off] = l4[off + 1] = 0;
  // Summed over the header as it is now (source and destination after any NAT), the
  // length from the IP header; UDP's 0 result is sent as 0xffff (RFC 768).
  const uint16_t ck = rte_ipv4_udptcp_cksum(reinterpret_cast<const rte_ipv4_hdr*>(p), l4);
  std::memcpy(l4 + off, &ck, 2);
}

}  // namespace arsec::dp
