// IPComp (RFC 3173) header and per-packet decisions; see ipcomp.h.
#include "dataplane/compress/ipcomp.h"

#include <algorithm>

namespace arsec::compress {

void WriteIpcompHeader(uint8_t* p, uint8_t next_header, uint16_t cpi) {
  p[0] = next_header;
  p[1] = 0;
  p[2] = static_cast<uint8_t>(cpi >> 8);
  p[3] = static_cast<uint8_t>(cpi);
}

bool ReadIpcompHeader(const uint8_t* p, size_t n, IpcompHeader* h) {
  if (p == nullptr || n < kIpcompHeaderLen) return false;
  h->next_header = p[0];
  h->flags = p[1];
  h->cpi = static_cast<uint16_t>((p[2] << 8) | p[3]);
  return true;
}

const char* IpcompErrorName(IpcompError e) {
  switch (e) {
    case IpcompError::kOk: return "ok";
    case IpcompError::kBadHeader: return "bad-header";
    case IpcompError::kUnknownCpi: return "unknown-cpi";
    case IpcompError::kDecompressFailed: return "decompress-failed";
    case IpcompError::kTooBig: return "too-big";
  }
  return "?";
}

const char* IpcompCompressStatusName(IpcompCompressStatus s) {
  switch (s) {
    case IpcompCompressStatus::kCompressed: return "compressed";
    case IpcompCompressStatus::kBelowThreshold: return "below-threshold";
    case IpcompCompressStatus::kNotSmaller: return "not-smaller";
    case IpcompCompressStatus::kNoRoom: return "no-room";
  }
  return "?";
}

IpcompContext::IpcompContext(const IpcompConfig& cfg)
    : cfg_(cfg),
      deflate_c_(cfg.deflate_level, cfg.deflate_window_bits, cfg.deflate_mem_level),
      lzs_c_(cfg.lzs_max_chain) {}

IpcompCompressResult IpcompContext::Compress(IpcompAlg alg, uint8_t next_header,
                                             const uint8_t* payload, size_t n, uint8_t* out,
                                             size_t cap, uint16_t cpi) {
  if (n < cfg_.min_payload || n <= kIpcompHeaderLen)
    return {IpcompCompressStatus::kBelowThreshold, 0};
  // RFC 3173 section 2.2: send compressed only if header + data < n, i.e. the codec may
  // use at most n - 5 bytes. Asking the codec for exactly that makes it stop early on
  // incompressible data instead of producing a useless larger stream.
  size_t want = n - kIpcompHeaderLen - 1;
  if (cap < kIpcompHeaderLen) return {IpcompCompressStatus::kNoRoom, 0};
  size_t room = std::min(want, cap - kIpcompHeaderLen);
  uint8_t* data = out + kIpcompHeaderLen;
  size_t c = alg == IpcompAlg::kDeflate ? deflate_c_.Compress(payload, n, data, room)
                                        : lzs_c_.Compress(payload, n, data, room);
  if (c == 0) {
    return {room < want ? IpcompCompressStatus::kNoRoom : IpcompCompressStatus::kNotSmaller,
            0};
  }
  WriteIpcompHeader(out, next_header, cpi ? cpi : IpcompWellKnownCpi(alg));
  return {IpcompCompressStatus::kCompressed, kIpcompHeaderLen + c};
}

IpcompDecompressResult IpcompContext::Decompress(IpcompAlg alg, const uint8_t* in, size_t n,
                                                 uint8_t* out, size_t cap, uint16_t cpi) {
  IpcompHeader h;
  if (!ReadIpcompHeader(in, n, &h) || h.flags != 0 || h.next_header == kIpprotoComp)
    return {IpcompError::kBadHeader, 0, 0};
  if (h.cpi != (cpi ? cpi : IpcompWellKnownCpi(alg))) return {IpcompError::kUnknownCpi, 0, 0};
  const uint8_t* data = in + kIpcompHeaderLen;
  size_t dn = n - kIpcompHeaderLen;
  size_t len = 0;
  if (alg == IpcompAlg::kDeflate) {
    DeflateResult r = deflate_d_.Decompress(data, dn, out, cap, &len);
    if (r == DeflateResult::kOutputFull) return {IpcompError::kTooBig, 0, 0};
    if (r != DeflateResult::kOk) return {IpcompError::kDecompressFailed, 0, 0};
  } else {
    LzsResult r = LzsDecompress(data, dn, out, cap, &len);
    if (r == LzsResult::kOutputFull) return {IpcompError::kTooBig, 0, 0};
    if (r != LzsResult::kOk) return {IpcompError::kDecompressFailed, 0, 0};
  }
  return {IpcompError::kOk, h.next_header, len};
}

}  // namespace arsec::compress
