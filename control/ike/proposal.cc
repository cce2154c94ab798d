// SA negotiation (see proposal.h). Each received transform is first read into a small
// typed record (ParsedP1 / ParsedP2): structural faults fail the whole payload at once
// with BAD-PROPOSAL-SYNTAX, attributes we do not implement mark the transform unusable,
// and only then is it compared with our offers or SA specifications, each comparison
// giving a reason when it fails so that NO-PROPOSAL-CHOSEN says in the log what differed.
#include "control/ike/proposal.h"

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace arsec::ike {
namespace {

using control::CompAlg;
using control::EncAlg;
using control::HashAlg;
using control::SaProtocol;
using control::SaSpec;

// The status payload NotifyFor (isakmp_codec.cc) reads: the notify type in decimal.
constexpr char kNotifyPayloadUrl[] = "type.arsec/ike.NotifyType";
constexpr uint32_t kDefaultPhase2Seconds = 28800;   // RFC 2407 4.5
constexpr size_t kMaxReasons = 6;

// Collects the reasons for a failed negotiation, bounded so the log line stays short.
class Reasons {
 public:
  void Add(std::string r) {
    if (list_.size() < kMaxReasons) list_.push_back(std::move(r));
    else more_ = true;
  }
  std::string Join() const {
    std::string s = absl::StrJoin(list_, "; ");
    if (more_) s += "; ...";
    return s;
  }
 private:
  std::vector<std::string> list_;
  bool more_ = false;
};

Bytes Be(uint64_t v, size_t n) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[n - 1 - i] = static_cast<uint8_t>(v >> (8 * i));
  return b;
}

uint64_t FromBe(const Bytes& b) {
  uint64_t v = 0;
  for (uint8_t c : b) v = (v << 8) | c;
  return v;
}

// A life duration: basic when it fits 16 bits, else 4 (or 8) bytes, as RFC 2408 3.3 allows.
Attribute Duration(uint16_t type, uint64_t v) {
  if (v <= 0xffff) return Attribute::Basic(type, static_cast<uint16_t>(v));
  return Attribute::Variable(type, Be(v, v <= 0xffffffffULL ? 4 : 8));
}

// The value of an attribute that must fit 16 bits (basic, or a short variable one).
std::optional<uint16_t> Small(const Attribute& a) {
  std::optional<uint64_t> v = a.AsInt();
  if (!v || *v > 0xffff) return std::nullopt;
  return static_cast<uint16_t>(*v);
}

absl::Status Syntax(std::string reason) {
  return NegotiationError(NotifyType::kBadProposalSyntax, std::move(reason));
}

// The smaller of two limits where 0 means none.
uint64_t MinLimit(uint64_t a, uint64_t b) {
  if (a == 0) return b;
  if (b == 0) return a;
  return std::min(a, b);
}

// Ours is a real limit below what the peer asked for (or the peer asked for none).
bool Lowers(uint64_t ours, uint64_t peer) { return ours != 0 && (peer == 0 || ours < peer); }

// Reads one life type/duration pair attribute into `life`; `pending` holds the life type
// waiting for its duration. Type codes differ between phase 1 (11/12) and phase 2 (1/2).
// Returns false with `unsupported` set for a life type we do not know.
absl::Status ReadLife(const Attribute& a, bool is_type, std::optional<uint16_t>& pending,
                      Lifetimes& life, std::set<uint16_t>& life_types, std::string& unsupported,
                      absl::string_view where) {
  if (is_type) {
    if (pending) return Syntax(absl::StrCat(where, ": life type without a life duration"));
    std::optional<uint16_t> t = Small(a);
    if (!t) return Syntax(absl::StrCat(where, ": life type is not a 16-bit value"));
    if (!life_types.insert(*t).second)
      return Syntax(absl::StrCat(where, ": life type ", *t, " given twice"));
    pending = *t;
    return absl::OkStatus();
  }
  if (!pending) return Syntax(absl::StrCat(where, ": life duration without a life type"));
  const uint16_t type = *pending;
  pending.reset();
  std::optional<uint64_t> v = a.AsInt();
  if (type == static_cast<uint16_t>(LifeType::kSeconds)) {
    if (!v) return Syntax(absl::StrCat(where, ": life duration longer than 8 bytes"));
    life.seconds = static_cast<uint32_t>(std::min<uint64_t>(*v, 0xffffffffULL));
    if (life.seconds == 0) return Syntax(absl::StrCat(where, ": life duration 0 seconds"));
  } else if (type == static_cast<uint16_t>(LifeType::kKilobytes)) {
    if (!v) return Syntax(absl::StrCat(where, ": life duration longer than 8 bytes"));
    life.kbytes = *v;
    if (life.kbytes == 0) return Syntax(absl::StrCat(where, ": life duration 0 kilobytes"));
  } else if (unsupported.empty()) {
    unsupported = absl::StrCat("life type ", type, " not supported");
  }
  return absl::OkStatus();
}

absl::Status CheckDoi(const SaPayload& sa) {
  if (sa.doi != kDoiIpsec)
    return NegotiationError(NotifyType::kDoiNotSupported,
                            absl::StrCat("DOI ", sa.doi, " is not the IPsec DOI"));
  if (sa.situation != kSituationIdentityOnly)
    return NegotiationError(NotifyType::kSituationNotSupported,
                            absl::StrCat("situation ", sa.situation, " is not SIT_IDENTITY_ONLY"));
  return absl::OkStatus();
}

// ================================================================ phase 1

struct ParsedP1 {
  std::optional<uint16_t> enc, hash, auth, group, key_bits;
  Lifetimes life;
  std::string unsupported;     // non-empty: an attribute we do not implement
};

absl::StatusOr<ParsedP1> ParseP1(const Transform& t, size_t where_p, size_t where_t) {
  const std::string where = absl::StrCat("proposal ", where_p, " transform ", where_t);
  ParsedP1 p;
  std::set<uint16_t> seen, life_types;
  std::optional<uint16_t> pending;
  for (const Attribute& a : t.attrs) {
    const auto type = static_cast<P1Attr>(a.type);
    if (type == P1Attr::kLifeType || type == P1Attr::kLifeDuration) {
      absl::Status s = ReadLife(a, type == P1Attr::kLifeType, pending, p.life, life_types,
                                p.unsupported, where);
      if (!s.ok()) return s;
      continue;
    }
    if (!seen.insert(a.type).second)
      return Syntax(absl::StrCat(where, ": attribute ", a.type, " given twice"));
    std::optional<uint16_t>* slot = nullptr;
    switch (type) {
      case P1Attr::kEncryption: slot = &p.enc; break;
      case P1Attr::kHash: slot = &p.hash; break;
      case P1Attr::kAuthMethod: slot = &p.auth; break;
      case P1Attr::kGroupDesc: slot = &p.group; break;
      case P1Attr::kKeyLength: slot = &p.key_bits; break;
      case P1Attr::kGroupType: {
        std::optional<uint16_t> v = Small(a);
        if (v != 1 && p.unsupported.empty())   // 1 = MODP, what the group description says
          p.unsupported = "group type other than MODP not supported";
        continue;
      }
      default:
        if (p.unsupported.empty())
          p.unsupported = absl::StrCat("attribute ", a.type, " not supported");
        continue;
    }
    *slot = Small(a);
    if (!*slot) return Syntax(absl::StrCat(where, ": attribute ", a.type, " is not 16 bits"));
  }
  if (pending) return Syntax(absl::StrCat(where, ": life type without a life duration"));
  return p;
}

std::string EncText(uint16_t enc, std::optional<uint16_t> bits) {
  const auto e = static_cast<P1Encryption>(enc);
  if (e == P1Encryption::kDes || e == P1Encryption::k3Des || e == P1Encryption::kAes)
    return Phase1EncName(e, e == P1Encryption::kAes ? bits.value_or(128) : 0);
  return absl::StrCat("cipher ", enc);
}

std::string Describe(const ParsedP1& p) {
  return absl::StrCat(p.enc ? EncText(*p.enc, p.key_bits) : "no cipher", "/",
                      p.hash ? Phase1HashName(static_cast<P1Hash>(*p.hash)) : "no hash", "/",
                      p.auth ? AuthMethodName(static_cast<AuthMethod>(*p.auth)) : "no auth",
                      "/group ", p.group ? absl::StrCat(*p.group) : "none");
}

std::string Describe(const Phase1Offer& o) {
  return absl::StrCat(Phase1EncName(o.enc, o.key_bits), "/", Phase1HashName(o.hash), "/",
                      AuthMethodName(o.auth), "/group ", o.group);
}

// The differences between a received transform and one offer (empty: equal).
std::vector<std::string> Differences(const ParsedP1& p, const Phase1Offer& o) {
  std::vector<std::string> d;
  if (p.enc != static_cast<uint16_t>(o.enc)) {
    d.push_back(absl::StrCat("cipher ", p.enc ? EncText(*p.enc, p.key_bits) : "missing"));
  } else if (o.enc == P1Encryption::kAes) {
    if (p.key_bits.value_or(128) != o.key_bits)
      d.push_back(absl::StrCat("AES key length ", p.key_bits.value_or(128)));
  } else if (p.key_bits) {
    d.push_back(absl::StrCat("key length ", *p.key_bits, " for a fixed-length cipher"));
  }
  if (p.hash != static_cast<uint16_t>(o.hash))
    d.push_back(p.hash ? absl::StrCat("hash ", Phase1HashName(static_cast<P1Hash>(*p.hash)))
                       : "hash missing");
  if (p.auth != static_cast<uint16_t>(o.auth))
    d.push_back(p.auth ? absl::StrCat("authentication ",
                                      AuthMethodName(static_cast<AuthMethod>(*p.auth)))
                       : "authentication method missing");
  if (p.group != o.group)
    d.push_back(p.group ? absl::StrCat("group ", *p.group) : "group missing");
  return d;
}

P1Cipher CipherOf(P1Encryption e) {
  switch (e) {
    case P1Encryption::k3Des: return P1Cipher::k3Des;
    case P1Encryption::kAes: return P1Cipher::kAesCbc;
    default: return P1Cipher::kDes;
  }
}

PrfHash PrfOf(P1Hash h) {
  switch (h) {
    case P1Hash::kMd5: return PrfHash::kMd5;
    case P1Hash::kSha256: return PrfHash::kSha256;
    case P1Hash::kSha384: return PrfHash::kSha384;
    case P1Hash::kSha512: return PrfHash::kSha512;
    default: return PrfHash::kSha1;
  }
}

Phase1Choice ChoiceFrom(const Phase1Offer& o, size_t index) {
  Phase1Choice c;
  c.enc = o.enc;
  c.key_bits = o.enc == P1Encryption::kAes ? o.key_bits : 0;
  c.hash = o.hash;
  c.auth = o.auth;
  c.group = o.group;
  c.cipher = CipherOf(o.enc);
  c.prf = PrfOf(o.hash);
  c.offer = index;
  return c;
}

// Matches one transform against every offer: the offer's index, or the reason.
std::optional<size_t> MatchOffer(const ParsedP1& p, absl::Span<const Phase1Offer> ours,
                                 std::string* reason) {
  size_t best = 0;
  std::vector<std::string> best_diff;
  for (size_t i = 0; i < ours.size(); ++i) {
    std::vector<std::string> d = Differences(p, ours[i]);
    if (d.empty()) return i;
    if (i == 0 || d.size() < best_diff.size()) {
      best = i;
      best_diff = std::move(d);
    }
  }
  if (ours.empty()) {
    *reason = "no offers configured";
  } else {
    *reason = absl::StrCat(absl::StrJoin(best_diff, ", "), " (we offer ",
                           Describe(ours[best]), ")");
  }
  return std::nullopt;
}

// ================================================================ phase 2

struct ParsedP2 {
  uint8_t id = 0;
  std::optional<uint16_t> encap, auth, key_bits;
  int group = 0;
  Lifetimes life;
  std::string unsupported;
};

absl::StatusOr<ParsedP2> ParseP2(const Transform& t, const std::string& where) {
  ParsedP2 p;
  p.id = t.id;
  std::set<uint16_t> seen, life_types;
  std::optional<uint16_t> pending;
  for (const Attribute& a : t.attrs) {
    const auto type = static_cast<P2Attr>(a.type);
    if (type == P2Attr::kLifeType || type == P2Attr::kLifeDuration) {
      absl::Status s = ReadLife(a, type == P2Attr::kLifeType, pending, p.life, life_types,
                                p.unsupported, where);
      if (!s.ok()) return s;
      continue;
    }
    if (!seen.insert(a.type).second)
      return Syntax(absl::StrCat(where, ": attribute ", a.type, " given twice"));
    std::optional<uint16_t> v = Small(a);
    switch (type) {
      case P2Attr::kEncapMode: p.encap = v; break;
      case P2Attr::kAuthAlg: p.auth = v; break;
      case P2Attr::kKeyLength: p.key_bits = v; break;
      case P2Attr::kGroupDesc:
        if (v) p.group = *v;
        break;
      default:
        // Key rounds, compression dictionary, private algorithms, ESN (RFC 4304): the
        // dataplane's SAs have none of them.
        if (p.unsupported.empty())
          p.unsupported = absl::StrCat("attribute ", a.type, " not supported");
        continue;
    }
    if (!v) return Syntax(absl::StrCat(where, ": attribute ", a.type, " is not 16 bits"));
  }
  if (pending) return Syntax(absl::StrCat(where, ": life type without a life duration"));
  if (p.life.seconds == 0) p.life.seconds = kDefaultPhase2Seconds;
  return p;
}

constexpr absl::string_view kEncNames[] = {"NULL", "DES", "3DES", "3DESINNER", "AES128",
                                           "AES192", "AES256", "AES128GCM", "AES256GCM"};
constexpr absl::string_view kHashNames[] = {"NULL", "MD5", "SHA", "SHA256", "SHA384", "SHA512"};
absl::string_view EncName(EncAlg a) { return kEncNames[static_cast<size_t>(a)]; }
absl::string_view HashName(HashAlg a) { return kHashNames[static_cast<size_t>(a)]; }
absl::string_view CompName(CompAlg a) {
  return a == CompAlg::kLzs ? "LZS" : a == CompAlg::kDeflate ? "DEFLATE" : "none";
}
absl::string_view ProtoName(SaProtocol p) {
  return p == SaProtocol::kEsp ? "ESP" : p == SaProtocol::kAh ? "AH" : "IPComp";
}

// ESP: our cipher <-> transform id and key length.
struct EspCipher {
  EspTransform id;
  uint16_t key_bits;
};
std::optional<EspCipher> EspCipherOf(EncAlg a) {
  switch (a) {
    case EncAlg::kNull: return EspCipher{EspTransform::kNull, 0};
    case EncAlg::kDes: return EspCipher{EspTransform::kDes, 0};
    case EncAlg::k3DesOuter: return EspCipher{EspTransform::k3Des, 0};
    case EncAlg::kAes128: return EspCipher{EspTransform::kAes, 128};
    case EncAlg::kAes192: return EspCipher{EspTransform::kAes, 192};
    case EncAlg::kAes256: return EspCipher{EspTransform::kAes, 256};
    case EncAlg::kAes128Gcm: return EspCipher{EspTransform::kAesGcm16, 128};
    case EncAlg::kAes256Gcm: return EspCipher{EspTransform::kAesGcm16, 256};
    case EncAlg::k3DesInner: break;   // inner-CBC triple DES has no IKE transform id
  }
  return std::nullopt;
}

std::optional<P2AuthAlg> AuthAlgOf(HashAlg h) {
  switch (h) {
    case HashAlg::kMd5: return P2AuthAlg::kHmacMd5;
    case HashAlg::kSha: return P2AuthAlg::kHmacSha;
    case HashAlg::kSha256: return P2AuthAlg::kHmacSha256;
    case HashAlg::kSha384: return P2AuthAlg::kHmacSha384;
    case HashAlg::kSha512: return P2AuthAlg::kHmacSha512;
    case HashAlg::kNull: break;
  }
  return std::nullopt;
}

std::optional<HashAlg> HashOfAuthAlg(uint16_t v) {
  switch (static_cast<P2AuthAlg>(v)) {
    case P2AuthAlg::kHmacMd5: return HashAlg::kMd5;
    case P2AuthAlg::kHmacSha: return HashAlg::kSha;
    case P2AuthAlg::kHmacSha256: return HashAlg::kSha256;
    case P2AuthAlg::kHmacSha384: return HashAlg::kSha384;
    case P2AuthAlg::kHmacSha512: return HashAlg::kSha512;
    default: return std::nullopt;
  }
}

std::optional<AhTransform> AhIdOf(HashAlg h) {
  switch (h) {
    case HashAlg::kMd5: return AhTransform::kMd5;
    case HashAlg::kSha: return AhTransform::kSha;
    case HashAlg::kSha256: return AhTransform::kSha256;
    case HashAlg::kSha384: return AhTransform::kSha384;
    case HashAlg::kSha512: return AhTransform::kSha512;
    case HashAlg::kNull: break;
  }
  return std::nullopt;
}

std::optional<HashAlg> HashOfAhId(uint8_t id) {
  switch (static_cast<AhTransform>(id)) {
    case AhTransform::kMd5: return HashAlg::kMd5;
    case AhTransform::kSha: return HashAlg::kSha;
    case AhTransform::kSha256: return HashAlg::kSha256;
    case AhTransform::kSha384: return HashAlg::kSha384;
    case AhTransform::kSha512: return HashAlg::kSha512;
    default: return std::nullopt;
  }
}

std::optional<IpcompTransform> IpcompIdOf(CompAlg c) {
  if (c == CompAlg::kLzs) return IpcompTransform::kLzs;
  if (c == CompAlg::kDeflate) return IpcompTransform::kDeflate;
  return std::nullopt;
}

uint16_t EncapValue(bool tunnel, UdpEncap udp) {
  switch (udp) {
    case UdpEncap::kRfc3947:
      return static_cast<uint16_t>(tunnel ? EncapMode::kUdpTunnel : EncapMode::kUdpTransport);
    case UdpEncap::kDraft:
      return static_cast<uint16_t>(tunnel ? EncapMode::kUdpTunnelDraft
                                          : EncapMode::kUdpTransportDraft);
    case UdpEncap::kNone: break;
  }
  return static_cast<uint16_t>(tunnel ? EncapMode::kTunnel : EncapMode::kTransport);
}

// What one received phase 2 transform means, once it matched a specification.
struct P2Meaning {
  EncAlg enc = EncAlg::kNull;
  HashAlg hash = HashAlg::kNull;
  CompAlg comp = CompAlg::kNone;
  uint16_t key_bits = 0;
  EncapMode encap = EncapMode::kTunnel;
  bool tunnel = true, udp = false;
};

std::string ModeText(uint16_t m) {
  switch (static_cast<EncapMode>(m)) {
    case EncapMode::kTunnel: return "tunnel";
    case EncapMode::kTransport: return "transport";
    case EncapMode::kUdpTunnel: return "UDP tunnel";
    case EncapMode::kUdpTransport: return "UDP transport";
    case EncapMode::kUdpTunnelDraft: return "UDP tunnel (draft)";
    case EncapMode::kUdpTransportDraft: return "UDP transport (draft)";
  }
  return absl::StrCat("mode ", m);
}

// Compares one received transform of protocol `proto` with one SA specification;
// empty when it matches (`out` then says what was agreed), else the difference.
std::string MatchP2(const ParsedP2& t, SaProtocol proto, const SaSpec& spec,
                    const Phase2Params& params, P2Meaning* out) {
  const std::string spec_name = absl::StrCat("SA specification ", spec.id);
  if (spec.protocol != proto)
    return absl::StrCat(spec_name, " is ", ProtoName(spec.protocol));
  P2Meaning m;
  if (proto == SaProtocol::kEsp) {
    switch (static_cast<EspTransform>(t.id)) {
      case EspTransform::kDes: m.enc = EncAlg::kDes; break;
      case EspTransform::k3Des: m.enc = EncAlg::k3DesOuter; break;
      case EspTransform::kNull: m.enc = EncAlg::kNull; break;
      case EspTransform::kAes:
        m.key_bits = t.key_bits.value_or(128);   // RFC 3602 requires it; old peers omit 128
        if (m.key_bits == 128) m.enc = EncAlg::kAes128;
        else if (m.key_bits == 192) m.enc = EncAlg::kAes192;
        else if (m.key_bits == 256) m.enc = EncAlg::kAes256;
        else return absl::StrCat("AES key length ", m.key_bits);
        break;
      case EspTransform::kAesGcm16:
        if (!t.key_bits) return "AES-GCM without a key length";
        m.key_bits = *t.key_bits;
        if (m.key_bits == 128) m.enc = EncAlg::kAes128Gcm;
        else if (m.key_bits == 256) m.enc = EncAlg::kAes256Gcm;
        else return absl::StrCat("AES-GCM key length ", m.key_bits);
        break;
      default:
        return absl::StrCat("ESP transform ", static_cast<int>(t.id), " not supported");
    }
    if (t.key_bits && m.key_bits == 0)
      return absl::StrCat("key length ", *t.key_bits, " for a fixed-length cipher");
    if (t.auth) {
      std::optional<HashAlg> h = HashOfAuthAlg(*t.auth);
      if (!h) return absl::StrCat("authentication algorithm ", *t.auth, " not supported");
      m.hash = *h;
    }
    const EncAlg want_enc = spec.encalg.value_or(EncAlg::kNull);
    const HashAlg want_hash = spec.hashalg.value_or(HashAlg::kNull);
    if (m.enc != want_enc)
      return absl::StrCat("cipher ", EncName(m.enc), " (", spec_name, ": ", EncName(want_enc),
                          ")");
    if (m.hash != want_hash)
      return absl::StrCat("authentication ", HashName(m.hash), " (", spec_name, ": ",
                          HashName(want_hash), ")");
  } else if (proto == SaProtocol::kAh) {
    std::optional<HashAlg> h = HashOfAhId(t.id);
    if (!h) return absl::StrCat("AH transform ", static_cast<int>(t.id), " not supported");
    m.hash = *h;
    // RFC 2407 4.5: the authentication algorithm attribute must name the same hash.
    if (t.auth && HashOfAuthAlg(*t.auth) != h)
      return absl::StrCat("AH transform ", static_cast<int>(t.id),
                          " with authentication algorithm ", *t.auth);
    const HashAlg want = spec.hashalg.value_or(HashAlg::kNull);
    if (m.hash != want)
      return absl::StrCat("authentication ", HashName(m.hash), " (", spec_name, ": ",
                          HashName(want), ")");
  } else {
    switch (static_cast<IpcompTransform>(t.id)) {
      case IpcompTransform::kLzs: m.comp = CompAlg::kLzs; break;
      case IpcompTransform::kDeflate: m.comp = CompAlg::kDeflate; break;
      default:
        return absl::StrCat("IPComp transform ", static_cast<int>(t.id), " not supported");
    }
    if (m.comp != spec.compalg)
      return absl::StrCat("compression ", CompName(m.comp), " (", spec_name, ": ",
                          CompName(spec.compalg), ")");
  }
  // Encapsulation mode: absent means whatever the host does (RFC 2407 4.5): ours.
  if (t.encap) {
    switch (static_cast<EncapMode>(*t.encap)) {
      case EncapMode::kTunnel: m.tunnel = true; m.udp = false; break;
      case EncapMode::kTransport: m.tunnel = false; m.udp = false; break;
      case EncapMode::kUdpTunnel:
      case EncapMode::kUdpTunnelDraft: m.tunnel = true; m.udp = true; break;
      case EncapMode::kUdpTransport:
      case EncapMode::kUdpTransportDraft: m.tunnel = false; m.udp = true; break;
      default: return absl::StrCat("encapsulation mode ", *t.encap, " not supported");
    }
    m.encap = static_cast<EncapMode>(*t.encap);
    if (m.udp && params.udp == UdpEncap::kNone)
      return absl::StrCat(ModeText(*t.encap), " mode but no NAT between the peers");
    if (!m.udp && params.udp != UdpEncap::kNone)
      return absl::StrCat(ModeText(*t.encap), " mode but NAT-T is in use");
  } else {
    m.tunnel = spec.tunnel;
    m.udp = params.udp != UdpEncap::kNone;
    m.encap = static_cast<EncapMode>(EncapValue(spec.tunnel, params.udp));
  }
  if (m.tunnel != spec.tunnel)
    return absl::StrCat(m.tunnel ? "tunnel" : "transport", " mode (", spec_name, ": ",
                        spec.tunnel ? "tunnel" : "transport", ")");
  if (t.group != params.pfs_group) {
    return t.group == 0 ? absl::StrCat("no PFS (policy: group ", params.pfs_group, ")")
                        : absl::StrCat("PFS group ", t.group, " (policy: ",
                                       params.pfs_group == 0
                                           ? std::string("no PFS")
                                           : absl::StrCat("group ", params.pfs_group),
                                       ")");
  }
  *out = m;
  return "";
}

// The peer's proposals grouped into suites (runs of one proposal number), checked for
// structure, every transform read.
struct PeerProposal {
  const Proposal* wire = nullptr;
  SaProtocol protocol = SaProtocol::kEsp;
  uint32_t spi = 0;
  std::vector<ParsedP2> transforms;
};
struct Suite {
  uint8_t number = 0;
  std::vector<PeerProposal> proposals;   // wire order
};

absl::StatusOr<std::vector<Suite>> ReadSuites(const SaPayload& sa) {
  if (absl::Status s = CheckDoi(sa); !s.ok()) return s;
  if (sa.proposals.empty()) return Syntax("SA payload without proposals");
  std::vector<Suite> suites;
  for (size_t i = 0; i < sa.proposals.size(); ++i) {
    const Proposal& p = sa.proposals[i];
    if (suites.empty() || p.number != suites.back().number) {
      if (!suites.empty() && p.number < suites.back().number)
        return Syntax(absl::StrCat("proposal number ", static_cast<int>(p.number), " after ",
                                   static_cast<int>(suites.back().number)));
      suites.push_back(Suite{p.number, {}});
    }
    PeerProposal pp;
    pp.wire = &p;
    switch (p.protocol) {
      case ProtocolId::kEsp: pp.protocol = SaProtocol::kEsp; break;
      case ProtocolId::kAh: pp.protocol = SaProtocol::kAh; break;
      case ProtocolId::kIpcomp: pp.protocol = SaProtocol::kComp; break;
      default:
        return NegotiationError(
            NotifyType::kInvalidProtocolId,
            absl::StrCat("proposal ", static_cast<int>(p.number), ": protocol ",
                         static_cast<int>(p.protocol), " in a phase 2 SA"));
    }
    const bool comp = pp.protocol == SaProtocol::kComp;
    if (!(p.spi.size() == 4 || (comp && p.spi.size() == 2)))
      return NegotiationError(NotifyType::kInvalidSpi,
                              absl::StrCat("proposal ", static_cast<int>(p.number), " ",
                                           ProtoName(pp.protocol), ": SPI of ", p.spi.size(),
                                           " bytes"));
    pp.spi = static_cast<uint32_t>(FromBe(p.spi) & (comp ? 0xffff : 0xffffffff));
    for (const PeerProposal& other : suites.back().proposals) {
      if (other.protocol == pp.protocol)
        return Syntax(absl::StrCat("proposal ", static_cast<int>(p.number), " carries ",
                                   ProtoName(pp.protocol), " twice"));
    }
    if (p.transforms.empty())
      return Syntax(absl::StrCat("proposal ", static_cast<int>(p.number), " without transforms"));
    for (const Transform& t : p.transforms) {
      absl::StatusOr<ParsedP2> pt =
          ParseP2(t, absl::StrCat("proposal ", static_cast<int>(p.number), " ",
                                  ProtoName(pp.protocol), " transform ",
                                  static_cast<int>(t.number)));
      if (!pt.ok()) return pt.status();
      pp.transforms.push_back(std::move(*pt));
    }
    suites.back().proposals.push_back(std::move(pp));
  }
  return suites;
}

std::string SuiteText(const Suite& s) {
  std::vector<std::string> protos;
  for (const PeerProposal& p : s.proposals) protos.emplace_back(ProtoName(p.protocol));
  return absl::StrCat("proposal ", static_cast<int>(s.number), " (",
                      absl::StrJoin(protos, "+"), ")");
}

// Counts why transforms failed, to pick the notify.
struct Tally {
  size_t examined = 0, unsupported = 0;
  NotifyType Notify() const {
    return examined > 0 && examined == unsupported ? NotifyType::kAttributesNotSupported
                                                   : NotifyType::kNoProposalChosen;
  }
};

// Tries one suite against one of our alternatives. `single` (initiator check): each
// proposal must carry exactly one transform.
std::optional<Phase2Choice> TryAlternative(const Suite& suite, const lang::BundleProposal& alt,
                                           size_t alt_index, const SaSpecFinder& specs,
                                           const Phase2Params& params, Reasons& reasons,
                                           Tally& tally) {
  const std::string head = absl::StrCat(SuiteText(suite), " vs alternative ", alt_index + 1);
  // The protocols of the alternative, slot by slot.
  std::vector<SaProtocol> slot_proto;
  for (const lang::BundleSlot& slot : alt.slots) {
    std::optional<SaProtocol> proto;
    for (uint32_t id : slot.spec_ids) {
      if (const SaSpec* s = specs(id)) {
        proto = s->protocol;
        break;
      }
    }
    if (!proto) {
      reasons.Add(absl::StrCat(head, ": its SA specifications do not exist"));
      return std::nullopt;
    }
    slot_proto.push_back(*proto);
  }
  std::multiset<SaProtocol> ours(slot_proto.begin(), slot_proto.end());
  std::multiset<SaProtocol> theirs;
  for (const PeerProposal& p : suite.proposals) theirs.insert(p.protocol);
  if (ours != theirs) {
    std::vector<std::string> names;
    for (SaProtocol p : slot_proto) names.emplace_back(ProtoName(p));
    reasons.Add(absl::StrCat(head, ": we need ", absl::StrJoin(names, "+")));
    return std::nullopt;
  }

  Phase2Choice c;
  c.proposal_number = suite.number;
  c.alternative = alt_index;
  c.pfs_group = params.pfs_group;
  for (size_t si = 0; si < alt.slots.size(); ++si) {
    const lang::BundleSlot& slot = alt.slots[si];
    size_t wi = 0;
    while (suite.proposals[wi].protocol != slot_proto[si]) ++wi;
    const PeerProposal& pp = suite.proposals[wi];
    std::optional<Phase2SaChoice> chosen;
    std::string why;
    for (size_t ti = 0; ti < pp.transforms.size() && !chosen; ++ti) {
      const ParsedP2& t = pp.transforms[ti];
      ++tally.examined;
      if (!t.unsupported.empty()) {
        ++tally.unsupported;
        if (why.empty()) why = absl::StrCat("transform ", ti + 1, ": ", t.unsupported);
        continue;
      }
      for (uint32_t id : slot.spec_ids) {
        const SaSpec* spec = specs(id);
        if (spec == nullptr) continue;
        P2Meaning m;
        std::string diff = MatchP2(t, pp.protocol, *spec, params, &m);
        if (!diff.empty()) {
          if (why.empty()) why = absl::StrCat("transform ", ti + 1, ": ", diff);
          continue;
        }
        Phase2SaChoice sc;
        sc.protocol = pp.protocol;
        sc.spec_id = spec->id;
        sc.enc = m.enc;
        sc.hash = m.hash;
        sc.comp = m.comp;
        sc.key_bits = m.key_bits;
        sc.peer_spi = pp.spi;
        sc.peer_spi_size = pp.wire->spi.size();
        sc.encap = m.encap;
        sc.tunnel = m.tunnel;
        sc.udp_encap = m.udp;
        sc.life_seconds = t.life.seconds;
        sc.life_kbytes = t.life.kbytes;
        sc.transform = pp.wire->transforms[ti];
        sc.wire_index = wi;
        chosen = std::move(sc);
        break;
      }
    }
    if (!chosen) {
      reasons.Add(absl::StrCat(head, ": ", ProtoName(pp.protocol), " ", why));
      return std::nullopt;
    }
    c.sas.push_back(std::move(*chosen));
  }
  return c;
}

// The bundle's lifetimes against what the chosen transforms proposed.
void SetLifetimes(Phase2Choice& c, const control::BundleSpec& bundle, bool responder) {
  uint64_t peer_s = 0, peer_kb = 0;
  for (const Phase2SaChoice& sa : c.sas) {
    peer_s = MinLimit(peer_s, sa.life_seconds);
    peer_kb = MinLimit(peer_kb, sa.life_kbytes);
  }
  const uint64_t our_s = bundle.expiry_seconds.value_or(kDefaultPhase2Seconds);
  const uint64_t our_kb = bundle.expiry_kbytes.value_or(0);
  c.life_seconds = static_cast<uint32_t>(MinLimit(peer_s, our_s));
  c.life_kbytes = MinLimit(peer_kb, our_kb);
  c.lifetime_lowered = responder && (Lowers(our_s, peer_s) || Lowers(our_kb, peer_kb));
}

}  // namespace

absl::Status NegotiationError(NotifyType notify, std::string reason) {
  absl::Status s = notify == NotifyType::kBadProposalSyntax
                       ? absl::InvalidArgumentError(reason)
                       : absl::FailedPreconditionError(reason);
  s.SetPayload(kNotifyPayloadUrl, absl::Cord(absl::StrCat(static_cast<int>(notify))));
  return s;
}

// ---------------------------------------------------------------- phase 1

AuthMethod XauthAuthMethod(AuthMethod base, bool initiator_is_xauth_client) {
  switch (BaseAuthMethod(base)) {
    case AuthMethod::kDss:
      return initiator_is_xauth_client ? AuthMethod::kXauthInitDss : AuthMethod::kXauthRespDss;
    case AuthMethod::kRsaSig:
      return initiator_is_xauth_client ? AuthMethod::kXauthInitRsa : AuthMethod::kXauthRespRsa;
    default:
      return initiator_is_xauth_client ? AuthMethod::kXauthInitPsk : AuthMethod::kXauthRespPsk;
  }
}

AuthMethod BaseAuthMethod(AuthMethod wire) {
  switch (wire) {
    case AuthMethod::kXauthInitPsk:
    case AuthMethod::kXauthRespPsk: return AuthMethod::kPsk;
    case AuthMethod::kXauthInitDss:
    case AuthMethod::kXauthRespDss: return AuthMethod::kDss;
    case AuthMethod::kXauthInitRsa:
    case AuthMethod::kXauthRespRsa: return AuthMethod::kRsaSig;
    default: return wire;
  }
}

bool IsXauthMethod(AuthMethod wire) { return BaseAuthMethod(wire) != wire; }

SaPayload BuildPhase1Sa(absl::Span<const Phase1Offer> offers) {
  SaPayload sa;
  Proposal p;
  p.number = 1;
  p.protocol = ProtocolId::kIsakmp;
  for (size_t i = 0; i < offers.size(); ++i) {
    const Phase1Offer& o = offers[i];
    Transform t;
    t.number = static_cast<uint8_t>(i + 1);
    t.id = kKeyIke;
    auto add = [&t](P1Attr type, uint16_t v) {
      t.attrs.push_back(Attribute::Basic(static_cast<uint16_t>(type), v));
    };
    add(P1Attr::kEncryption, static_cast<uint16_t>(o.enc));
    if (o.enc == P1Encryption::kAes) add(P1Attr::kKeyLength, o.key_bits);
    add(P1Attr::kHash, static_cast<uint16_t>(o.hash));
    add(P1Attr::kAuthMethod, static_cast<uint16_t>(o.auth));
    add(P1Attr::kGroupDesc, static_cast<uint16_t>(o.group));
    for (Attribute& a : LifetimeAttributes(false, o.life_seconds, o.life_kbytes))
      t.attrs.push_back(std::move(a));
    p.transforms.push_back(std::move(t));
  }
  sa.proposals.push_back(std::move(p));
  return sa;
}

absl::StatusOr<Phase1Selection> SelectPhase1(const SaPayload& peer,
                                             absl::Span<const Phase1Offer> ours) {
  if (absl::Status s = CheckDoi(peer); !s.ok()) return s;
  if (peer.proposals.empty()) return Syntax("SA payload without proposals");
  // Read everything first: a structural fault anywhere rejects the payload.
  std::vector<std::vector<ParsedP1>> parsed;
  for (size_t pi = 0; pi < peer.proposals.size(); ++pi) {
    const Proposal& p = peer.proposals[pi];
    if (p.protocol != ProtocolId::kIsakmp)
      return NegotiationError(NotifyType::kInvalidProtocolId,
                              absl::StrCat("proposal ", static_cast<int>(p.number),
                                           ": protocol ", static_cast<int>(p.protocol),
                                           " in a phase 1 SA"));
    if (p.transforms.empty())
      return Syntax(absl::StrCat("proposal ", static_cast<int>(p.number), " without transforms"));
    parsed.emplace_back();
    for (const Transform& t : p.transforms) {
      absl::StatusOr<ParsedP1> pt = ParseP1(t, p.number, t.number);
      if (!pt.ok()) return pt.status();
      parsed.back().push_back(std::move(*pt));
    }
  }
  Reasons reasons;
  Tally tally;
  for (size_t pi = 0; pi < peer.proposals.size(); ++pi) {
    const Proposal& p = peer.proposals[pi];
    for (size_t ti = 0; ti < p.transforms.size(); ++ti) {
      const Transform& t = p.transforms[ti];
      const ParsedP1& pt = parsed[pi][ti];
      const std::string where = absl::StrCat("transform ", static_cast<int>(t.number));
      ++tally.examined;
      if (t.id != kKeyIke) {
        reasons.Add(absl::StrCat(where, ": transform id ", static_cast<int>(t.id),
                                 " is not KEY_IKE"));
        continue;
      }
      if (!pt.unsupported.empty()) {
        ++tally.unsupported;
        reasons.Add(absl::StrCat(where, " (", Describe(pt), "): ", pt.unsupported));
        continue;
      }
      std::string why;
      std::optional<size_t> match = MatchOffer(pt, ours, &why);
      if (!match) {
        reasons.Add(absl::StrCat(where, ": ", why));
        continue;
      }
      const Phase1Offer& o = ours[*match];
      Phase1Selection sel;
      sel.choice = ChoiceFrom(o, *match);
      sel.choice.life_seconds =
          static_cast<uint32_t>(MinLimit(pt.life.seconds, o.life_seconds));
      sel.choice.life_kbytes = MinLimit(pt.life.kbytes, o.life_kbytes);
      sel.choice.lifetime_lowered =
          Lowers(o.life_seconds, pt.life.seconds) || Lowers(o.life_kbytes, pt.life.kbytes);
      sel.reply.number = p.number;
      sel.reply.protocol = p.protocol;
      sel.reply.spi = p.spi;
      sel.reply.transforms.push_back(t);
      return sel;
    }
  }
  return NegotiationError(tally.Notify(),
                          absl::StrCat("no acceptable ISAKMP transform: ", reasons.Join()));
}

absl::StatusOr<Phase1Choice> CheckPhase1Reply(const SaPayload& reply,
                                              absl::Span<const Phase1Offer> ours) {
  if (absl::Status s = CheckDoi(reply); !s.ok()) return s;
  if (reply.proposals.size() != 1)
    return Syntax(absl::StrCat("the responder returned ", reply.proposals.size(),
                               " proposals, not one"));
  const Proposal& p = reply.proposals[0];
  if (p.protocol != ProtocolId::kIsakmp)
    return NegotiationError(NotifyType::kInvalidProtocolId,
                            absl::StrCat("the responder returned protocol ",
                                         static_cast<int>(p.protocol)));
  if (p.transforms.size() != 1)
    return Syntax(absl::StrCat("the responder returned ", p.transforms.size(),
                               " transforms, not one"));
  const Transform& t = p.transforms[0];
  absl::StatusOr<ParsedP1> pt = ParseP1(t, p.number, t.number);
  if (!pt.ok()) return pt.status();
  if (t.id != kKeyIke)
    return NegotiationError(NotifyType::kNoProposalChosen,
                            absl::StrCat("the responder chose transform id ",
                                         static_cast<int>(t.id)));
  if (!pt->unsupported.empty())
    return NegotiationError(NotifyType::kAttributesNotSupported,
                            absl::StrCat("the responder's transform: ", pt->unsupported));
  std::string why;
  std::optional<size_t> match = MatchOffer(*pt, ours, &why);
  if (!match)
    return NegotiationError(NotifyType::kNoProposalChosen,
                            absl::StrCat("the responder chose a transform we did not offer: ",
                                         why));
  const Phase1Offer& o = ours[*match];
  Phase1Choice c = ChoiceFrom(o, *match);
  c.life_seconds = static_cast<uint32_t>(MinLimit(pt->life.seconds, o.life_seconds));
  c.life_kbytes = MinLimit(pt->life.kbytes, o.life_kbytes);
  return c;
}

std::string Phase1EncName(P1Encryption enc, uint16_t key_bits) {
  switch (enc) {
    case P1Encryption::kDes: return "DES";
    case P1Encryption::k3Des: return "3DES";
    case P1Encryption::kAes: return absl::StrCat("AES", key_bits);
    case P1Encryption::kIdea: return "IDEA";
    case P1Encryption::kBlowfish: return "BLOWFISH";
    case P1Encryption::kRc5: return "RC5";
    case P1Encryption::kCast: return "CAST";
  }
  return absl::StrCat("cipher ", static_cast<int>(enc));
}

std::string Phase1HashName(P1Hash hash) {
  switch (hash) {
    case P1Hash::kMd5: return "MD5";
    case P1Hash::kSha: return "SHA";
    case P1Hash::kTiger: return "TIGER";
    case P1Hash::kSha256: return "SHA256";
    case P1Hash::kSha384: return "SHA384";
    case P1Hash::kSha512: return "SHA512";
  }
  return absl::StrCat("hash ", static_cast<int>(hash));
}

std::string AuthMethodName(AuthMethod auth) {
  switch (auth) {
    case AuthMethod::kPsk: return "PRESHARED";
    case AuthMethod::kDss: return "DSS";
    case AuthMethod::kRsaSig: return "RSASIG";
    case AuthMethod::kRsaEnc: return "RSAENC";
    case AuthMethod::kRsaRevEnc: return "RSAREVENC";
    case AuthMethod::kXauthInitPsk: return "XAUTH-PRESHARED-I";
    case AuthMethod::kXauthRespPsk: return "XAUTH-PRESHARED-R";
    case AuthMethod::kXauthInitDss: return "XAUTH-DSS-I";
    case AuthMethod::kXauthRespDss: return "XAUTH-DSS-R";
    case AuthMethod::kXauthInitRsa: return "XAUTH-RSASIG-I";
    case AuthMethod::kXauthRespRsa: return "XAUTH-RSASIG-R";
  }
  return absl::StrCat("method ", static_cast<int>(auth));
}

// ---------------------------------------------------------------- lifetimes

std::vector<Attribute> LifetimeAttributes(bool phase2, uint32_t seconds, uint64_t kbytes) {
  const uint16_t type = phase2 ? static_cast<uint16_t>(P2Attr::kLifeType)
                               : static_cast<uint16_t>(P1Attr::kLifeType);
  const uint16_t duration = phase2 ? static_cast<uint16_t>(P2Attr::kLifeDuration)
                                   : static_cast<uint16_t>(P1Attr::kLifeDuration);
  std::vector<Attribute> out;
  if (seconds != 0) {
    out.push_back(Attribute::Basic(type, static_cast<uint16_t>(LifeType::kSeconds)));
    out.push_back(Duration(duration, seconds));
  }
  if (kbytes != 0) {
    out.push_back(Attribute::Basic(type, static_cast<uint16_t>(LifeType::kKilobytes)));
    out.push_back(Duration(duration, kbytes));
  }
  return out;
}

absl::StatusOr<Lifetimes> ReadLifetimes(bool phase2, absl::Span<const Attribute> attrs) {
  const uint16_t type = phase2 ? static_cast<uint16_t>(P2Attr::kLifeType)
                               : static_cast<uint16_t>(P1Attr::kLifeType);
  const uint16_t duration = phase2 ? static_cast<uint16_t>(P2Attr::kLifeDuration)
                                   : static_cast<uint16_t>(P1Attr::kLifeDuration);
  Lifetimes life;
  std::optional<uint16_t> pending;
  std::set<uint16_t> types;
  std::string unsupported;
  for (const Attribute& a : attrs) {
    if (a.type != type && a.type != duration) continue;
    absl::Status s = ReadLife(a, a.type == type, pending, life, types, unsupported, "lifetime");
    if (!s.ok()) return s;
  }
  if (pending) return Syntax("lifetime: life type without a life duration");
  return life;
}

// ---------------------------------------------------------------- phase 2

SaSpecFinder FinderFor(const std::map<uint32_t, control::SaSpec>& specs) {
  return [&specs](uint32_t id) -> const control::SaSpec* {
    auto it = specs.find(id);
    return it == specs.end() ? nullptr : &it->second;
  };
}

const Phase2SaChoice* Phase2Choice::Find(control::SaProtocol p) const {
  for (const Phase2SaChoice& sa : sas)
    if (sa.protocol == p) return &sa;
  return nullptr;
}

ProtocolId ProtocolIdOf(control::SaProtocol p) {
  switch (p) {
    case SaProtocol::kAh: return ProtocolId::kAh;
    case SaProtocol::kComp: return ProtocolId::kIpcomp;
    case SaProtocol::kEsp: break;
  }
  return ProtocolId::kEsp;
}

absl::StatusOr<SaPayload> BuildPhase2Sa(const control::BundleSpec& bundle,
                                        const SaSpecFinder& specs, const Phase2Params& params,
                                        const Phase2Spis& spis) {
  const std::string bname = absl::StrCat("bundle specification ", bundle.id);
  const auto& alts = bundle.bundle.proposals;
  if (alts.empty()) return absl::FailedPreconditionError(absl::StrCat(bname, " is empty"));
  if (alts.size() > 255)
    return absl::FailedPreconditionError(absl::StrCat(bname, " has more than 255 proposals"));
  const uint32_t life_s = bundle.expiry_seconds.value_or(kDefaultPhase2Seconds);
  const uint64_t life_kb = bundle.expiry_kbytes.value_or(0);
  SaPayload sa;
  for (size_t ai = 0; ai < alts.size(); ++ai) {
    for (const lang::BundleSlot& slot : alts[ai].slots) {
      if (slot.spec_ids.empty() || slot.spec_ids.size() > 255)
        return absl::FailedPreconditionError(absl::StrCat(bname, ": a slot with ",
                                                          slot.spec_ids.size(),
                                                          " SA specifications"));
      Proposal p;
      p.number = static_cast<uint8_t>(ai + 1);
      std::optional<SaProtocol> proto;
      for (size_t k = 0; k < slot.spec_ids.size(); ++k) {
        const SaSpec* s = specs(slot.spec_ids[k]);
        const std::string sname = absl::StrCat("SA specification ", slot.spec_ids[k]);
        if (s == nullptr)
          return absl::FailedPreconditionError(absl::StrCat(bname, ": ", sname,
                                                            " does not exist"));
        if (s->keyman != control::KeyManagement::kIsakmp)
          return absl::FailedPreconditionError(absl::StrCat(sname, " is not KEYMAN=ISAKMP"));
        if (proto && *proto != s->protocol)
          return absl::FailedPreconditionError(absl::StrCat(bname, ": ", sname,
                                                            " mixes protocols in an OR"));
        proto = s->protocol;
        Transform t;
        t.number = static_cast<uint8_t>(k + 1);
        std::optional<P2AuthAlg> auth;
        uint16_t key_bits = 0;
        if (s->protocol == SaProtocol::kEsp) {
          const EncAlg enc = s->encalg.value_or(EncAlg::kNull);
          std::optional<EspCipher> c = EspCipherOf(enc);
          if (!c)
            return absl::FailedPreconditionError(
                absl::StrCat(sname, ": ENCALG=", EncName(enc), " cannot be negotiated"));
          t.id = static_cast<uint8_t>(c->id);
          key_bits = c->key_bits;
          auth = AuthAlgOf(s->hashalg.value_or(HashAlg::kNull));
          if (!auth && enc == EncAlg::kNull)
            return absl::FailedPreconditionError(
                absl::StrCat(sname, ": ESP with neither encryption nor authentication"));
        } else if (s->protocol == SaProtocol::kAh) {
          const HashAlg h = s->hashalg.value_or(HashAlg::kNull);
          std::optional<AhTransform> id = AhIdOf(h);
          if (!id)
            return absl::FailedPreconditionError(absl::StrCat(sname, ": AH needs HASHALG"));
          t.id = static_cast<uint8_t>(*id);
          auth = AuthAlgOf(h);
        } else {
          std::optional<IpcompTransform> id = IpcompIdOf(s->compalg);
          if (!id)
            return absl::FailedPreconditionError(absl::StrCat(sname, ": IPComp needs COMPALG"));
          t.id = static_cast<uint8_t>(*id);
        }
        t.attrs = LifetimeAttributes(true, life_s, life_kb);
        auto add = [&t](P2Attr type, uint16_t v) {
          t.attrs.push_back(Attribute::Basic(static_cast<uint16_t>(type), v));
        };
        if (params.pfs_group != 0) add(P2Attr::kGroupDesc, static_cast<uint16_t>(params.pfs_group));
        add(P2Attr::kEncapMode, EncapValue(s->tunnel, params.udp));
        if (auth) add(P2Attr::kAuthAlg, static_cast<uint16_t>(*auth));
        if (key_bits != 0) add(P2Attr::kKeyLength, key_bits);
        p.transforms.push_back(std::move(t));
      }
      p.protocol = ProtocolIdOf(*proto);
      switch (*proto) {
        case SaProtocol::kEsp: p.spi = Be(spis.esp, 4); break;
        case SaProtocol::kAh: p.spi = Be(spis.ah, 4); break;
        case SaProtocol::kComp: p.spi = Be(spis.cpi, 2); break;
      }
      sa.proposals.push_back(std::move(p));
    }
  }
  return sa;
}

absl::StatusOr<Phase2Choice> SelectPhase2(const SaPayload& peer,
                                          const control::BundleSpec& bundle,
                                          const SaSpecFinder& specs,
                                          const Phase2Params& params) {
  absl::StatusOr<std::vector<Suite>> suites = ReadSuites(peer);
  if (!suites.ok()) return suites.status();
  Reasons reasons;
  Tally tally;
  for (const Suite& suite : *suites) {
    for (size_t ai = 0; ai < bundle.bundle.proposals.size(); ++ai) {
      std::optional<Phase2Choice> c = TryAlternative(suite, bundle.bundle.proposals[ai], ai,
                                                     specs, params, reasons, tally);
      if (!c) continue;
      SetLifetimes(*c, bundle, true);
      return std::move(*c);
    }
  }
  return NegotiationError(tally.Notify(),
                          absl::StrCat("no acceptable IPsec proposal for bundle ", bundle.id,
                                       ": ", reasons.Join()));
}

SaPayload BuildPhase2Reply(const Phase2Choice& choice, const Phase2Spis& ours) {
  std::vector<const Phase2SaChoice*> order;
  for (const Phase2SaChoice& sa : choice.sas) order.push_back(&sa);
  std::sort(order.begin(), order.end(), [](const Phase2SaChoice* a, const Phase2SaChoice* b) {
    return a->wire_index < b->wire_index;
  });
  SaPayload reply;
  for (const Phase2SaChoice* sa : order) {
    Proposal p;
    p.number = choice.proposal_number;
    p.protocol = ProtocolIdOf(sa->protocol);
    switch (sa->protocol) {
      case SaProtocol::kEsp: p.spi = Be(ours.esp, 4); break;
      case SaProtocol::kAh: p.spi = Be(ours.ah, 4); break;
      case SaProtocol::kComp: p.spi = Be(ours.cpi, sa->peer_spi_size == 4 ? 4 : 2); break;
    }
    p.transforms.push_back(sa->transform);
    reply.proposals.push_back(std::move(p));
  }
  return reply;
}

absl::StatusOr<Phase2Choice> CheckPhase2Reply(const SaPayload& reply,
                                              const control::BundleSpec& bundle,
                                              const SaSpecFinder& specs,
                                              const Phase2Params& params) {
  absl::StatusOr<std::vector<Suite>> suites = ReadSuites(reply);
  if (!suites.ok()) return suites.status();
  const Suite& suite = suites->front();
  for (const PeerProposal& p : suite.proposals) {
    if (p.transforms.size() != 1)
      return Syntax(absl::StrCat("the responder returned ", p.transforms.size(), " ",
                                 ProtoName(p.protocol), " transforms, not one"));
  }
  Reasons reasons;
  Tally tally;
  const auto& alts = bundle.bundle.proposals;
  // The alternative we numbered so first, then any other that fits.
  std::vector<size_t> order;
  if (suite.number >= 1 && suite.number <= alts.size()) order.push_back(suite.number - 1);
  for (size_t ai = 0; ai < alts.size(); ++ai)
    if (order.empty() || ai != order.front()) order.push_back(ai);
  for (size_t ai : order) {
    std::optional<Phase2Choice> c =
        TryAlternative(suite, alts[ai], ai, specs, params, reasons, tally);
    if (!c) continue;
    SetLifetimes(*c, bundle, false);
    return std::move(*c);
  }
  return NegotiationError(NotifyType::kNoProposalChosen,
                          absl::StrCat("the responder chose a proposal we did not offer: ",
                                       reasons.Join()));
}

size_t KeymatLength(const Phase2SaChoice& sa) {
  size_t enc = 0, auth = 0;
  switch (sa.enc) {
    case EncAlg::kNull: enc = 0; break;
    case EncAlg::kDes: enc = 8; break;
    case EncAlg::k3DesOuter:
    case EncAlg::k3DesInner: enc = 24; break;
    case EncAlg::kAes128: enc = 16; break;
    case EncAlg::kAes192: enc = 24; break;
    case EncAlg::kAes256: enc = 32; break;
    case EncAlg::kAes128Gcm: enc = 16 + 4; break;   // RFC 4106 8.1: key then 4-byte salt
    case EncAlg::kAes256Gcm: enc = 32 + 4; break;
  }
  switch (sa.hash) {
    case HashAlg::kNull: auth = 0; break;
    case HashAlg::kMd5: auth = 16; break;
    case HashAlg::kSha: auth = 20; break;
    case HashAlg::kSha256: auth = 32; break;
    case HashAlg::kSha384: auth = 48; break;
    case HashAlg::kSha512: auth = 64; break;
  }
  if (sa.protocol == SaProtocol::kComp) return 0;
  if (sa.protocol == SaProtocol::kAh) return auth;
  return enc + auth;
}

}  // namespace arsec::ike
