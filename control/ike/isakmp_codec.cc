// The ISAKMP message codec (see isakmp_codec.h): every read is bounds-checked against the
// span it belongs to (the datagram, a payload body, a proposal, a transform), every length
// field must fit exactly inside its parent, and every structure whose encoding is not
// fully determined by its parsed form (RESERVED bytes, next-payload fields inside the SA
// payload, trailing bytes) is rejected, so that a message accepted here is rebuilt byte for
// byte by the builders. The RFC 2408 section 5 notify for each error travels as a status
// payload; NotifyFor reads it back.
#include "control/ike/isakmp_codec.h"

#include <string>
#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace arsec::ike {
namespace {

constexpr char kNotifyPayloadUrl[] = "type.arsec/ike.NotifyType";
constexpr uint16_t kAttrFormatBit = 0x8000;
constexpr uint8_t kKnownFlags = kFlagEncryption | kFlagCommit | kFlagAuthOnly;
constexpr size_t kSaFixedLen = 8;         // DOI + situation (IPsec DOI)
constexpr size_t kProposalFixedLen = 8;   // generic header + #, protocol, SPI size, #transforms
constexpr size_t kTransformFixedLen = 8;  // generic header + #, id, RESERVED2

// An InvalidArgument naming the field and the offset, carrying the notify to answer with.
absl::Status Error(NotifyType notify, absl::string_view where, absl::string_view field,
                   size_t offset, absl::string_view detail) {
  absl::Status s = absl::InvalidArgumentError(
      absl::StrCat(where, ": ", field, " at offset ", offset, ": ", detail));
  s.SetPayload(kNotifyPayloadUrl, absl::Cord(absl::StrCat(static_cast<int>(notify))));
  return s;
}

uint16_t Get16(ByteSpan b, size_t off) {
  return static_cast<uint16_t>((b[off] << 8) | b[off + 1]);
}
uint32_t Get32(ByteSpan b, size_t off) {
  return (static_cast<uint32_t>(b[off]) << 24) | (static_cast<uint32_t>(b[off + 1]) << 16) |
         (static_cast<uint32_t>(b[off + 2]) << 8) | b[off + 3];
}
uint64_t Get64(ByteSpan b, size_t off) {
  return (static_cast<uint64_t>(Get32(b, off)) << 32) | Get32(b, off + 4);
}
void Put16(Bytes& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}
void Put32(Bytes& out, uint32_t v) {
  Put16(out, static_cast<uint16_t>(v >> 16));
  Put16(out, static_cast<uint16_t>(v));
}
void Put64(Bytes& out, uint64_t v) {
  Put32(out, static_cast<uint32_t>(v >> 32));
  Put32(out, static_cast<uint32_t>(v));
}
// Writes `v` as a 16-bit length at `at` (reserved earlier with two zero bytes).
void Patch16(Bytes& out, size_t at, size_t v) {
  out[at] = static_cast<uint8_t>(v >> 8);
  out[at + 1] = static_cast<uint8_t>(v);
}

// Payload types that may appear in the top-level chain. Proposal and transform payloads
// live only inside an SA payload; the private range (128-255) is accepted only for the
// NAT-T draft numbers every NAT-T implementation still sends.
bool ChainTypeKnown(uint8_t t) {
  switch (static_cast<PayloadType>(t)) {
    case PayloadType::kSa:
    case PayloadType::kKe:
    case PayloadType::kId:
    case PayloadType::kCert:
    case PayloadType::kCertReq:
    case PayloadType::kHash:
    case PayloadType::kSig:
    case PayloadType::kNonce:
    case PayloadType::kNotify:
    case PayloadType::kDelete:
    case PayloadType::kVendorId:
    case PayloadType::kAttr:
    case PayloadType::kNatD:
    case PayloadType::kNatOa:
    case PayloadType::kNatDDraft:
    case PayloadType::kNatOaDraft:
      return true;
    default:
      return false;
  }
}

bool ProtocolKnown(uint8_t p) { return p >= 1 && p <= 4; }

// The SPI sizes RFC 2407/2408 allow per protocol: ISAKMP 0 or 16 (the cookie pair,
// ignored by RFC 2409), AH/ESP 4, IPComp 2 (the CPI) or 4 (the CPI in the low bytes).
bool SpiSizeValid(uint8_t protocol, size_t size) {
  switch (static_cast<ProtocolId>(protocol)) {
    case ProtocolId::kIsakmp: return size == 0 || size == 16;
    case ProtocolId::kAh:
    case ProtocolId::kEsp: return size == 4;
    case ProtocolId::kIpcomp: return size == 2 || size == 4;
  }
  return false;
}

struct ChainResult {
  std::vector<Payload> payloads;
  size_t consumed = 0;  // bytes of the area the chain covers
};

// Walks the generic payload headers of `area`; `base` is the area's offset in the
// datagram, for error messages.
absl::StatusOr<ChainResult> WalkChain(PayloadType first, ByteSpan area, size_t base) {
  ChainResult r;
  uint8_t type = static_cast<uint8_t>(first);
  size_t off = 0;
  int index = 0;
  while (type != static_cast<uint8_t>(PayloadType::kNone)) {
    const std::string where = absl::StrCat("ISAKMP payload #", index);
    if (!ChainTypeKnown(type)) {
      return Error(NotifyType::kInvalidPayloadType, where, "payload type", base + off,
                   absl::StrCat("unknown or misplaced payload type ", type));
    }
    if (area.size() - off < kGenericHeaderLen) {
      return Error(NotifyType::kPayloadMalformed, where, "generic payload header",
                   base + off,
                   absl::StrCat("needs 4 bytes, ", area.size() - off, " left"));
    }
    const uint8_t next = area[off];
    if (area[off + 1] != 0) {
      return Error(NotifyType::kPayloadMalformed, where, "RESERVED", base + off + 1,
                   absl::StrCat("must be 0, is ", area[off + 1]));
    }
    const uint16_t len = Get16(area, off + 2);
    if (len < kGenericHeaderLen) {
      return Error(NotifyType::kPayloadMalformed, where, "payload length", base + off + 2,
                   absl::StrCat(len, " is shorter than the 4-byte generic header"));
    }
    if (len > area.size() - off) {
      return Error(NotifyType::kPayloadMalformed, where, "payload length", base + off + 2,
                   absl::StrCat(len, " runs past the end (", area.size() - off, " left)"));
    }
    Payload p;
    p.type = static_cast<PayloadType>(type);
    p.body.assign(area.begin() + off + kGenericHeaderLen, area.begin() + off + len);
    r.payloads.push_back(std::move(p));
    off += len;
    type = next;
    ++index;
  }
  r.consumed = off;
  return r;
}

// One proposal payload starting at `off` of the SA body; `*next` gets its next-payload.
absl::StatusOr<Proposal> ParseProposal(ByteSpan body, size_t off, size_t* len_out,
                                       uint8_t* next_out) {
  constexpr absl::string_view kWhere = "SA payload proposal";
  if (body.size() - off < kProposalFixedLen) {
    return Error(NotifyType::kBadProposalSyntax, kWhere, "proposal header", off,
                 absl::StrCat("needs 8 bytes, ", body.size() - off, " left"));
  }
  *next_out = body[off];
  if (body[off + 1] != 0) {
    return Error(NotifyType::kBadProposalSyntax, kWhere, "RESERVED", off + 1,
                 absl::StrCat("must be 0, is ", body[off + 1]));
  }
  const uint16_t len = Get16(body, off + 2);
  if (len < kProposalFixedLen || len > body.size() - off) {
    return Error(NotifyType::kBadProposalSyntax, kWhere, "proposal length", off + 2,
                 absl::StrCat(len, " outside 8..", body.size() - off));
  }
  Proposal p;
  p.number = body[off + 4];
  const uint8_t protocol = body[off + 5];
  const uint8_t spi_size = body[off + 6];
  const uint8_t count = body[off + 7];
  if (!ProtocolKnown(protocol)) {
    return Error(NotifyType::kInvalidProtocolId, kWhere, "protocol id", off + 5,
                 absl::StrCat("unknown protocol ", protocol));
  }
  p.protocol = static_cast<ProtocolId>(protocol);
  if (spi_size > len - kProposalFixedLen) {
    return Error(NotifyType::kBadProposalSyntax, kWhere, "SPI size", off + 6,
                 absl::StrCat(spi_size, " exceeds the ", len - kProposalFixedLen,
                              " bytes after the proposal header"));
  }
  if (!SpiSizeValid(protocol, spi_size)) {
    return Error(NotifyType::kInvalidSpi, kWhere, "SPI size", off + 6,
                 absl::StrCat(spi_size, " is not valid for protocol ", protocol));
  }
  if (count == 0) {
    return Error(NotifyType::kBadProposalSyntax, kWhere, "number of transforms", off + 7,
                 "a proposal needs at least one transform");
  }
  p.spi.assign(body.begin() + off + kProposalFixedLen,
               body.begin() + off + kProposalFixedLen + spi_size);

  // The transforms: exactly `count` of them, chained 3..3,0, filling the proposal.
  const size_t end = off + len;
  size_t t = off + kProposalFixedLen + spi_size;
  constexpr absl::string_view kTWhere = "SA payload transform";
  for (int i = 0; i < count; ++i) {
    if (end - t < kTransformFixedLen) {
      return Error(NotifyType::kBadProposalSyntax, kTWhere, "transform header", t,
                   absl::StrCat("transform ", i + 1, " of ", static_cast<int>(count),
                                " needs 8 bytes, ", end - t, " left in the proposal"));
    }
    const uint8_t tnext = body[t];
    const uint8_t want = (i + 1 == count) ? static_cast<uint8_t>(PayloadType::kNone)
                                          : static_cast<uint8_t>(PayloadType::kTransform);
    if (tnext != want) {
      return Error(NotifyType::kBadProposalSyntax, kTWhere, "next payload", t,
                   absl::StrCat("is ", tnext, ", transform ", i + 1, " of ",
                                static_cast<int>(count), " must say ", want));
    }
    if (body[t + 1] != 0) {
      return Error(NotifyType::kBadProposalSyntax, kTWhere, "RESERVED", t + 1,
                   absl::StrCat("must be 0, is ", body[t + 1]));
    }
    const uint16_t tlen = Get16(body, t + 2);
    if (tlen < kTransformFixedLen || tlen > end - t) {
      return Error(NotifyType::kBadProposalSyntax, kTWhere, "transform length", t + 2,
                   absl::StrCat(tlen, " outside 8..", end - t));
    }
    if (Get16(body, t + 6) != 0) {
      return Error(NotifyType::kBadProposalSyntax, kTWhere, "RESERVED2", t + 6,
                   absl::StrCat("must be 0, is ", Get16(body, t + 6)));
    }
    Transform tr;
    tr.number = body[t + 4];
    tr.id = body[t + 5];
    auto attrs = ParseAttributes(body.subspan(t + kTransformFixedLen, tlen - kTransformFixedLen));
    if (!attrs.ok()) {
      return Error(NotifyType::kBadProposalSyntax, kTWhere, "attributes",
                   t + kTransformFixedLen,
                   absl::StrCat("transform ", i + 1, ": ", attrs.status().message()));
    }
    tr.attrs = *std::move(attrs);
    p.transforms.push_back(std::move(tr));
    t += tlen;
  }
  if (t != end) {
    return Error(NotifyType::kBadProposalSyntax, kWhere, "proposal length", off + 2,
                 absl::StrCat(end - t, " bytes left after the ", static_cast<int>(count),
                              " transforms the proposal announces"));
  }
  *len_out = len;
  return p;
}

}  // namespace

// ---------------------------------------------------------------- small types

Attribute Attribute::Basic(uint16_t type, uint16_t v) {
  Attribute a;
  a.type = type;
  a.basic = true;
  a.value = {static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
  return a;
}

Attribute Attribute::Variable(uint16_t type, Bytes v) {
  Attribute a;
  a.type = type;
  a.basic = false;
  a.value = std::move(v);
  return a;
}

std::optional<uint64_t> Attribute::AsInt() const {
  if (value.size() > 8) return std::nullopt;
  uint64_t v = 0;
  for (uint8_t b : value) v = (v << 8) | b;
  return v;
}

const Attribute* Transform::Find(uint16_t type) const {
  for (const Attribute& a : attrs) {
    if (a.type == type) return &a;
  }
  return nullptr;
}

const Payload* Message::Find(PayloadType type) const {
  for (const Payload& p : payloads) {
    if (p.type == type) return &p;
  }
  return nullptr;
}

std::vector<const Payload*> Message::FindAll(PayloadType type) const {
  std::vector<const Payload*> out;
  for (const Payload& p : payloads) {
    if (p.type == type) out.push_back(&p);
  }
  return out;
}

// ---------------------------------------------------------------- header and chain

absl::StatusOr<Header> ParseHeader(ByteSpan d) {
  constexpr absl::string_view kWhere = "ISAKMP header";
  if (d.size() < kHeaderLen) {
    return Error(NotifyType::kPayloadMalformed, kWhere, "header", 0,
                 absl::StrCat("needs 28 bytes, datagram has ", d.size()));
  }
  Header h;
  h.icookie = Get64(d, 0);
  h.rcookie = Get64(d, 8);
  h.next = static_cast<PayloadType>(d[16]);
  h.version = d[17];
  h.exchange = static_cast<ExchangeType>(d[18]);
  h.flags = d[19];
  h.message_id = Get32(d, 20);
  h.length = Get32(d, 24);
  if ((h.version >> 4) != 1) {
    return Error(NotifyType::kInvalidMajorVersion, kWhere, "major version", 17,
                 absl::StrCat(h.version >> 4, " is not 1 (IKEv1)"));
  }
  if ((h.version & 0x0f) != 0) {
    return Error(NotifyType::kInvalidMinorVersion, kWhere, "minor version", 17,
                 absl::StrCat(h.version & 0x0f, " is newer than 0"));
  }
  if ((h.flags & ~kKnownFlags) != 0) {
    return Error(NotifyType::kInvalidFlags, kWhere, "flags", 19,
                 absl::StrFormat("unknown bits in 0x%02x", h.flags));
  }
  if (h.length < kHeaderLen) {
    return Error(NotifyType::kUnequalPayloadLengths, kWhere, "length", 24,
                 absl::StrCat(h.length, " is shorter than the header"));
  }
  if (h.length > d.size()) {
    return Error(NotifyType::kUnequalPayloadLengths, kWhere, "length", 24,
                 absl::StrCat(h.length, " exceeds the datagram's ", d.size(), " bytes"));
  }
  return h;
}

void AppendHeader(const Header& h, Bytes& out) {
  Put64(out, h.icookie);
  Put64(out, h.rcookie);
  out.push_back(static_cast<uint8_t>(h.next));
  out.push_back(h.version);
  out.push_back(static_cast<uint8_t>(h.exchange));
  out.push_back(h.flags);
  Put32(out, h.message_id);
  Put32(out, h.length);
}

absl::StatusOr<std::vector<Payload>> ParseChain(PayloadType first, ByteSpan area) {
  auto r = WalkChain(first, area, 0);
  if (!r.ok()) return r.status();
  return std::move(r->payloads);
}

Bytes BuildChain(const std::vector<Payload>& payloads) {
  Bytes out;
  for (size_t i = 0; i < payloads.size(); ++i) {
    const Payload& p = payloads[i];
    out.push_back(i + 1 < payloads.size() ? static_cast<uint8_t>(payloads[i + 1].type) : 0);
    out.push_back(0);
    Put16(out, static_cast<uint16_t>(kGenericHeaderLen + p.body.size()));
    out.insert(out.end(), p.body.begin(), p.body.end());
  }
  return out;
}

Bytes BuildMessage(Header h, const std::vector<Payload>& payloads) {
  const Bytes chain = BuildChain(payloads);
  h.next = payloads.empty() ? PayloadType::kNone : payloads.front().type;
  h.length = static_cast<uint32_t>(kHeaderLen + chain.size());
  Bytes out;
  out.reserve(h.length);
  AppendHeader(h, out);
  out.insert(out.end(), chain.begin(), chain.end());
  return out;
}

absl::StatusOr<Message> ParseMessage(ByteSpan d) {
  auto h = ParseHeader(d);
  if (!h.ok()) return h.status();
  if (h->length != d.size()) {
    return Error(NotifyType::kUnequalPayloadLengths, "ISAKMP header", "length", 24,
                 absl::StrCat(h->length, " differs from the datagram's ", d.size(), " bytes"));
  }
  if (h->flags & kFlagEncryption) {
    return Error(NotifyType::kInvalidFlags, "ISAKMP header", "flags", 19,
                 "the encryption bit is set; decrypt and use ParseChain");
  }
  auto chain = WalkChain(h->next, d.subspan(kHeaderLen), kHeaderLen);
  if (!chain.ok()) return chain.status();
  if (kHeaderLen + chain->consumed != d.size()) {
    return Error(NotifyType::kUnequalPayloadLengths, "ISAKMP message", "payload lengths",
                 kHeaderLen + chain->consumed,
                 absl::StrCat(d.size() - kHeaderLen - chain->consumed,
                              " bytes follow the last payload"));
  }
  Message m;
  m.header = *h;
  m.payloads = std::move(chain->payloads);
  return m;
}

// ---------------------------------------------------------------- attributes

absl::StatusOr<std::vector<Attribute>> ParseAttributes(ByteSpan data) {
  std::vector<Attribute> out;
  size_t off = 0;
  while (off < data.size()) {
    if (data.size() - off < 4) {
      return Error(NotifyType::kPayloadMalformed, "data attribute", "attribute header", off,
                   absl::StrCat("needs 4 bytes, ", data.size() - off, " left"));
    }
    const uint16_t tf = Get16(data, off);
    Attribute a;
    a.type = tf & ~kAttrFormatBit;
    a.basic = (tf & kAttrFormatBit) != 0;
    if (a.basic) {
      a.value.assign(data.begin() + off + 2, data.begin() + off + 4);
      off += 4;
    } else {
      const uint16_t len = Get16(data, off + 2);
      if (len > data.size() - off - 4) {
        return Error(NotifyType::kPayloadMalformed, "data attribute",
                     absl::StrCat("attribute ", a.type, " length"), off + 2,
                     absl::StrCat(len, " runs past the end (", data.size() - off - 4,
                                  " left)"));
      }
      a.value.assign(data.begin() + off + 4, data.begin() + off + 4 + len);
      off += 4 + len;
    }
    out.push_back(std::move(a));
  }
  return out;
}

void AppendAttributes(const std::vector<Attribute>& attrs, Bytes& out) {
  for (const Attribute& a : attrs) {
    if (a.basic) {
      Put16(out, static_cast<uint16_t>(a.type | kAttrFormatBit));
      // A basic attribute carries exactly 2 bytes; a shorter value is zero-extended.
      const uint16_t v = a.value.size() >= 2 ? Get16(a.value, 0)
                         : a.value.size() == 1 ? a.value[0] : 0;
      Put16(out, v);
    } else {
      Put16(out, static_cast<uint16_t>(a.type & ~kAttrFormatBit));
      Put16(out, static_cast<uint16_t>(a.value.size()));
      out.insert(out.end(), a.value.begin(), a.value.end());
    }
  }
}

// ---------------------------------------------------------------- SA

absl::StatusOr<SaPayload> ParseSa(ByteSpan body) {
  constexpr absl::string_view kWhere = "SA payload";
  if (body.size() < kSaFixedLen) {
    return Error(NotifyType::kPayloadMalformed, kWhere, "DOI and situation", 0,
                 absl::StrCat("need 8 bytes, body has ", body.size()));
  }
  SaPayload sa;
  sa.doi = Get32(body, 0);
  sa.situation = Get32(body, 4);
  if (sa.doi != kDoiIpsec) {
    return Error(NotifyType::kDoiNotSupported, kWhere, "DOI", 0,
                 absl::StrCat(sa.doi, " is not the IPsec DOI (1)"));
  }
  // SIT_SECRECY and SIT_INTEGRITY (RFC 2407 4.2) add labelled-domain fields we do not
  // implement; any other bit is undefined.
  if (sa.situation != kSituationIdentityOnly) {
    return Error(NotifyType::kSituationNotSupported, kWhere, "situation", 4,
                 absl::StrFormat("0x%08x is not SIT_IDENTITY_ONLY", sa.situation));
  }
  size_t off = kSaFixedLen;
  if (off == body.size()) {
    return Error(NotifyType::kBadProposalSyntax, kWhere, "proposals", off,
                 "an SA payload needs at least one proposal");
  }
  while (true) {
    size_t len = 0;
    uint8_t next = 0;
    auto p = ParseProposal(body, off, &len, &next);
    if (!p.ok()) return p.status();
    sa.proposals.push_back(*std::move(p));
    const size_t here = off;
    off += len;
    if (next == static_cast<uint8_t>(PayloadType::kNone)) {
      if (off != body.size()) {
        return Error(NotifyType::kBadProposalSyntax, kWhere, "next payload", here,
                     absl::StrCat("the last proposal leaves ", body.size() - off,
                                  " bytes of the SA payload"));
      }
      break;
    }
    if (next != static_cast<uint8_t>(PayloadType::kProposal)) {
      return Error(NotifyType::kBadProposalSyntax, kWhere, "next payload", here,
                   absl::StrCat("is ", next, " inside an SA payload (2 or 0 expected)"));
    }
    if (off == body.size()) {
      return Error(NotifyType::kBadProposalSyntax, kWhere, "next payload", here,
                   "announces a proposal after the end of the SA payload");
    }
  }
  return sa;
}

Bytes BuildSa(const SaPayload& sa) {
  Bytes out;
  Put32(out, sa.doi);
  Put32(out, sa.situation);
  for (size_t i = 0; i < sa.proposals.size(); ++i) {
    const Proposal& p = sa.proposals[i];
    const size_t start = out.size();
    out.push_back(i + 1 < sa.proposals.size() ? static_cast<uint8_t>(PayloadType::kProposal)
                                               : 0);
    out.push_back(0);
    Put16(out, 0);
    out.push_back(p.number);
    out.push_back(static_cast<uint8_t>(p.protocol));
    out.push_back(static_cast<uint8_t>(p.spi.size()));
    out.push_back(static_cast<uint8_t>(p.transforms.size()));
    out.insert(out.end(), p.spi.begin(), p.spi.end());
    for (size_t j = 0; j < p.transforms.size(); ++j) {
      const Transform& t = p.transforms[j];
      const size_t tstart = out.size();
      out.push_back(j + 1 < p.transforms.size() ? static_cast<uint8_t>(PayloadType::kTransform)
                                                 : 0);
      out.push_back(0);
      Put16(out, 0);
      out.push_back(t.number);
      out.push_back(t.id);
      Put16(out, 0);
      AppendAttributes(t.attrs, out);
      Patch16(out, tstart + 2, out.size() - tstart);
    }
    Patch16(out, start + 2, out.size() - start);
  }
  return out;
}

// ---------------------------------------------------------------- ID

absl::StatusOr<IdPayload> ParseId(ByteSpan body) {
  constexpr absl::string_view kWhere = "ID payload";
  if (body.size() < 4) {
    return Error(NotifyType::kPayloadMalformed, kWhere, "ID header", 0,
                 absl::StrCat("needs 4 bytes, body has ", body.size()));
  }
  IdPayload id;
  id.type = static_cast<IdType>(body[0]);
  id.protocol = body[1];
  id.port = Get16(body, 2);
  const size_t n = body.size() - 4;
  size_t want = 0;  // 0: variable, non-empty
  switch (id.type) {
    case IdType::kIpv4Addr: want = 4; break;
    case IdType::kIpv4Subnet:
    case IdType::kIpv4Range: want = 8; break;
    case IdType::kIpv6Addr: want = 16; break;
    case IdType::kIpv6Subnet:
    case IdType::kIpv6Range: want = 32; break;
    case IdType::kFqdn:
    case IdType::kUserFqdn:
    case IdType::kDerAsn1Dn:
    case IdType::kDerAsn1Gn:
    case IdType::kKeyId: break;
    default:
      return Error(NotifyType::kInvalidIdInformation, kWhere, "ID type", 0,
                   absl::StrCat("unknown identification type ", body[0]));
  }
  if (want != 0 && n != want) {
    return Error(NotifyType::kInvalidIdInformation, kWhere, "identification data", 4,
                 absl::StrCat("type ", body[0], " needs ", want, " bytes, has ", n));
  }
  if (want == 0 && n == 0) {
    return Error(NotifyType::kInvalidIdInformation, kWhere, "identification data", 4,
                 absl::StrCat("type ", body[0], " needs a non-empty value"));
  }
  id.data.assign(body.begin() + 4, body.end());
  return id;
}

Bytes BuildId(const IdPayload& id) {
  Bytes out;
  out.push_back(static_cast<uint8_t>(id.type));
  out.push_back(id.protocol);
  Put16(out, id.port);
  out.insert(out.end(), id.data.begin(), id.data.end());
  return out;
}

// ---------------------------------------------------------------- Notify

absl::StatusOr<NotifyPayload> ParseNotify(ByteSpan body) {
  constexpr absl::string_view kWhere = "Notification payload";
  if (body.size() < 8) {
    return Error(NotifyType::kPayloadMalformed, kWhere, "notification header", 0,
                 absl::StrCat("needs 8 bytes, body has ", body.size()));
  }
  NotifyPayload n;
  n.doi = Get32(body, 0);
  // DOI 0 is the generic ISAKMP DOI some implementations use for phase 1 notifies.
  if (n.doi != 0 && n.doi != kDoiIpsec) {
    return Error(NotifyType::kDoiNotSupported, kWhere, "DOI", 0,
                 absl::StrCat(n.doi, " is neither ISAKMP (0) nor IPsec (1)"));
  }
  // Protocol 0 appears in notifies that concern no particular SA.
  if (body[4] > 4) {
    return Error(NotifyType::kInvalidProtocolId, kWhere, "protocol id", 4,
                 absl::StrCat("unknown protocol ", body[4]));
  }
  n.protocol = static_cast<ProtocolId>(body[4]);
  const uint8_t spi_size = body[5];
  n.type = Get16(body, 6);
  if (spi_size > body.size() - 8) {
    return Error(NotifyType::kPayloadMalformed, kWhere, "SPI size", 5,
                 absl::StrCat(spi_size, " exceeds the ", body.size() - 8, " bytes left"));
  }
  n.spi.assign(body.begin() + 8, body.begin() + 8 + spi_size);
  n.data.assign(body.begin() + 8 + spi_size, body.end());
  return n;
}

Bytes BuildNotify(const NotifyPayload& n) {
  Bytes out;
  Put32(out, n.doi);
  out.push_back(static_cast<uint8_t>(n.protocol));
  out.push_back(static_cast<uint8_t>(n.spi.size()));
  Put16(out, n.type);
  out.insert(out.end(), n.spi.begin(), n.spi.end());
  out.insert(out.end(), n.data.begin(), n.data.end());
  return out;
}

// ---------------------------------------------------------------- Delete

absl::StatusOr<DeletePayload> ParseDelete(ByteSpan body) {
  constexpr absl::string_view kWhere = "Delete payload";
  if (body.size() < 8) {
    return Error(NotifyType::kPayloadMalformed, kWhere, "delete header", 0,
                 absl::StrCat("needs 8 bytes, body has ", body.size()));
  }
  DeletePayload d;
  d.doi = Get32(body, 0);
  if (d.doi != 0 && d.doi != kDoiIpsec) {
    return Error(NotifyType::kDoiNotSupported, kWhere, "DOI", 0,
                 absl::StrCat(d.doi, " is neither ISAKMP (0) nor IPsec (1)"));
  }
  if (!ProtocolKnown(body[4])) {
    return Error(NotifyType::kInvalidProtocolId, kWhere, "protocol id", 4,
                 absl::StrCat("unknown protocol ", body[4]));
  }
  d.protocol = static_cast<ProtocolId>(body[4]);
  d.spi_size = body[5];
  const uint16_t count = Get16(body, 6);
  const bool size_ok = d.protocol == ProtocolId::kIsakmp ? d.spi_size == 16
                                                         : SpiSizeValid(body[4], d.spi_size);
  if (!size_ok) {
    return Error(NotifyType::kInvalidSpi, kWhere, "SPI size", 5,
                 absl::StrCat(d.spi_size, " is not valid for protocol ", body[4]));
  }
  if (count == 0) {
    return Error(NotifyType::kPayloadMalformed, kWhere, "number of SPIs", 6,
                 "a delete needs at least one SPI");
  }
  if (body.size() - 8 != static_cast<size_t>(count) * d.spi_size) {
    return Error(NotifyType::kPayloadMalformed, kWhere, "number of SPIs", 6,
                 absl::StrCat(count, " SPIs of ", d.spi_size, " bytes need ",
                              static_cast<size_t>(count) * d.spi_size, " bytes, body has ",
                              body.size() - 8));
  }
  for (size_t i = 0; i < count; ++i) {
    const size_t at = 8 + i * d.spi_size;
    d.spis.emplace_back(body.begin() + at, body.begin() + at + d.spi_size);
  }
  return d;
}

Bytes BuildDelete(const DeletePayload& d) {
  Bytes out;
  Put32(out, d.doi);
  out.push_back(static_cast<uint8_t>(d.protocol));
  out.push_back(d.spi_size);
  Put16(out, static_cast<uint16_t>(d.spis.size()));
  for (const Bytes& s : d.spis) {
    // Each SPI takes exactly spi_size bytes on the wire, whatever the caller passed.
    for (size_t i = 0; i < d.spi_size; ++i) out.push_back(i < s.size() ? s[i] : 0);
  }
  return out;
}

// ---------------------------------------------------------------- Attribute payload

absl::StatusOr<AttrPayload> ParseAttr(ByteSpan body) {
  constexpr absl::string_view kWhere = "Attribute payload";
  if (body.size() < 4) {
    return Error(NotifyType::kPayloadMalformed, kWhere, "attribute payload header", 0,
                 absl::StrCat("needs 4 bytes, body has ", body.size()));
  }
  if (body[0] < static_cast<uint8_t>(CfgType::kRequest) ||
      body[0] > static_cast<uint8_t>(CfgType::kAck)) {
    return Error(NotifyType::kPayloadMalformed, kWhere, "type", 0,
                 absl::StrCat("unknown configuration message type ", body[0]));
  }
  if (body[1] != 0) {
    return Error(NotifyType::kPayloadMalformed, kWhere, "RESERVED", 1,
                 absl::StrCat("must be 0, is ", body[1]));
  }
  AttrPayload a;
  a.type = static_cast<CfgType>(body[0]);
  a.identifier = Get16(body, 2);
  auto attrs = ParseAttributes(body.subspan(4));
  if (!attrs.ok()) {
    return Error(NotifyType::kPayloadMalformed, kWhere, "attributes", 4,
                 attrs.status().message());
  }
  a.attrs = *std::move(attrs);
  return a;
}

Bytes BuildAttr(const AttrPayload& a) {
  Bytes out;
  out.push_back(static_cast<uint8_t>(a.type));
  out.push_back(0);
  Put16(out, a.identifier);
  AppendAttributes(a.attrs, out);
  return out;
}

// ---------------------------------------------------------------- notify mapping

NotifyType NotifyFor(const absl::Status& s) {
  const absl::optional<absl::Cord> p = s.GetPayload(kNotifyPayloadUrl);
  if (!p.has_value()) return NotifyType::kPayloadMalformed;
  int v = 0;
  for (char c : std::string(*p)) {
    if (c < '0' || c > '9') return NotifyType::kPayloadMalformed;
    v = v * 10 + (c - '0');
    if (v > 65535) return NotifyType::kPayloadMalformed;
  }
  return static_cast<NotifyType>(v);
}

}  // namespace arsec::ike
