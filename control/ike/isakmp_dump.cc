// The DEBUG=PKT decoder (see isakmp_dump.h). The AR410's layout is the template: a
// header block, then per payload a "Payload #: i Length: n Type: ..." line and the
// payload's fields; transform attributes are rows whose label is padded with dots to
// column 31. Names come from one switch per registry (RFC 2407/2408/2409, RFC 3947,
// RFC 3706, the XAUTH and Mode Config drafts), and a value without a name prints as
// UNKNOWN(n), so a dump never hides what arrived.
#include "control/ike/isakmp_dump.h"

#include <arpa/inet.h>

#include <cstring>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace arsec::ike {
namespace {

constexpr size_t kMaxBlob = 64;      // bytes of any blob shown
constexpr size_t kLabelWidth = 31;   // "Encryption Algorithm..........." (the seed's rows)
constexpr size_t kMaxSpis = 16;      // SPIs of a Delete payload shown
constexpr char kMasked[] = "********";

void Line(std::string& out, absl::string_view s) {
  absl::StrAppend(&out, s, "\n");
}

void Row(std::string& out, absl::string_view label, absl::string_view value) {
  std::string l(label);
  if (l.size() < kLabelWidth) l.append(kLabelWidth - l.size(), '.');
  absl::StrAppend(&out, l, " ", value, "\n");
}

// At most 64 bytes as hex, "..." when there is more.
std::string Hex(ByteSpan b) {
  std::string s;
  const size_t n = b.size() < kMaxBlob ? b.size() : kMaxBlob;
  s.reserve(2 * n + 3);
  for (size_t i = 0; i < n; ++i) absl::StrAppendFormat(&s, "%02x", b[i]);
  if (b.size() > kMaxBlob) s += "...";
  return s;
}

bool Printable(ByteSpan b) {
  for (uint8_t c : b) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

// Printable text as it is (capped at 64 characters), anything else as hex.
std::string Text(ByteSpan b) {
  if (!Printable(b)) return Hex(b);
  const size_t n = b.size() < kMaxBlob ? b.size() : kMaxBlob;
  std::string s(reinterpret_cast<const char*>(b.data()), n);
  if (b.size() > kMaxBlob) s += "...";
  return s;
}

std::string Ip4(ByteSpan b) {
  return absl::StrFormat("%d.%d.%d.%d", b[0], b[1], b[2], b[3]);
}

std::string Ip6(ByteSpan b) {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(AF_INET6, b.data(), buf, sizeof(buf));
  return buf;
}

std::string Named(const char* name, uint64_t v) {
  return absl::StrCat(name != nullptr ? name : "UNKNOWN", "(", v, ")");
}

// ---------------------------------------------------------------- registries

const char* ExchangeStr(uint8_t x) {
  switch (static_cast<ExchangeType>(x)) {
    case ExchangeType::kNone: return "NONE";
    case ExchangeType::kBase: return "BASE";
    case ExchangeType::kIdProt: return "IDPROT";
    case ExchangeType::kAuthOnly: return "AUTHONLY";
    case ExchangeType::kAggressive: return "AGGRESSIVE";
    case ExchangeType::kInformational: return "INFO";
    case ExchangeType::kTransaction: return "TRANSACTION";
    case ExchangeType::kQuick: return "QUICK";
    case ExchangeType::kNewGroup: return "NEWGROUP";
  }
  return nullptr;
}

const char* PayloadStr(uint8_t t) {
  switch (static_cast<PayloadType>(t)) {
    case PayloadType::kNone: return "None (NONE)";
    case PayloadType::kSa: return "Security Association (SA)";
    case PayloadType::kProposal: return "Proposal (P)";
    case PayloadType::kTransform: return "Transform (T)";
    case PayloadType::kKe: return "Key Exchange (KE)";
    case PayloadType::kId: return "Identification (ID)";
    case PayloadType::kCert: return "Certificate (CERT)";
    case PayloadType::kCertReq: return "Certificate Request (CR)";
    case PayloadType::kHash: return "Hash (HASH)";
    case PayloadType::kSig: return "Signature (SIG)";
    case PayloadType::kNonce: return "Nonce (NONCE)";
    case PayloadType::kNotify: return "Notification (N)";
    case PayloadType::kDelete: return "Delete (D)";
    case PayloadType::kVendorId: return "Vendor ID (VID)";
    case PayloadType::kAttr: return "Attributes (ATTR)";
    case PayloadType::kNatD: return "NAT Discovery (NAT-D)";
    case PayloadType::kNatOa: return "NAT Original Address (NAT-OA)";
    case PayloadType::kNatDDraft: return "NAT Discovery, draft (NAT-D)";
    case PayloadType::kNatOaDraft: return "NAT Original Address, draft (NAT-OA)";
  }
  return nullptr;
}

const char* NotifyStr(uint16_t t) {
  switch (static_cast<NotifyType>(t)) {
    case NotifyType::kInvalidPayloadType: return "INVALID-PAYLOAD-TYPE";
    case NotifyType::kDoiNotSupported: return "DOI-NOT-SUPPORTED";
    case NotifyType::kSituationNotSupported: return "SITUATION-NOT-SUPPORTED";
    case NotifyType::kInvalidCookie: return "INVALID-COOKIE";
    case NotifyType::kInvalidMajorVersion: return "INVALID-MAJOR-VERSION";
    case NotifyType::kInvalidMinorVersion: return "INVALID-MINOR-VERSION";
    case NotifyType::kInvalidExchangeType: return "INVALID-EXCHANGE-TYPE";
    case NotifyType::kInvalidFlags: return "INVALID-FLAGS";
    case NotifyType::kInvalidMessageId: return "INVALID-MESSAGE-ID";
    case NotifyType::kInvalidProtocolId: return "INVALID-PROTOCOL-ID";
    case NotifyType::kInvalidSpi: return "INVALID-SPI";
    case NotifyType::kInvalidTransformId: return "INVALID-TRANSFORM-ID";
    case NotifyType::kAttributesNotSupported: return "ATTRIBUTES-NOT-SUPPORTED";
    case NotifyType::kNoProposalChosen: return "NO-PROPOSAL-CHOSEN";
    case NotifyType::kBadProposalSyntax: return "BAD-PROPOSAL-SYNTAX";
    case NotifyType::kPayloadMalformed: return "PAYLOAD-MALFORMED";
    case NotifyType::kInvalidKeyInformation: return "INVALID-KEY-INFORMATION";
    case NotifyType::kInvalidIdInformation: return "INVALID-ID-INFORMATION";
    case NotifyType::kInvalidCertEncoding: return "INVALID-CERT-ENCODING";
    case NotifyType::kInvalidCertificate: return "INVALID-CERTIFICATE";
    case NotifyType::kCertTypeUnsupported: return "CERT-TYPE-UNSUPPORTED";
    case NotifyType::kInvalidCertAuthority: return "INVALID-CERT-AUTHORITY";
    case NotifyType::kInvalidHashInformation: return "INVALID-HASH-INFORMATION";
    case NotifyType::kAuthenticationFailed: return "AUTHENTICATION-FAILED";
    case NotifyType::kInvalidSignature: return "INVALID-SIGNATURE";
    case NotifyType::kAddressNotification: return "ADDRESS-NOTIFICATION";
    case NotifyType::kNotifySaLifetime: return "NOTIFY-SA-LIFETIME";
    case NotifyType::kCertificateUnavailable: return "CERTIFICATE-UNAVAILABLE";
    case NotifyType::kUnsupportedExchangeType: return "UNSUPPORTED-EXCHANGE-TYPE";
    case NotifyType::kUnequalPayloadLengths: return "UNEQUAL-PAYLOAD-LENGTHS";
    case NotifyType::kConnected: return "CONNECTED";
    case NotifyType::kResponderLifetime: return "RESPONDER-LIFETIME";
    case NotifyType::kReplayStatus: return "REPLAY-STATUS";
    case NotifyType::kInitialContact: return "INITIAL-CONTACT";
    case NotifyType::kDpdRUThere: return "R-U-THERE";
    case NotifyType::kDpdRUThereAck: return "R-U-THERE-ACK";
  }
  return nullptr;
}

// The seed prints the IPsec DOI as "IPSEC(0)"; we keep its text for DOI 1.
std::string DoiStr(uint32_t doi) {
  if (doi == kDoiIpsec) return "IPSEC(0)";
  if (doi == 0) return "ISAKMP(0)";
  return Named(nullptr, doi);
}

const char* ProtocolStr(uint8_t p) {
  switch (static_cast<ProtocolId>(p)) {
    case ProtocolId::kIsakmp: return "ISAKMP";
    case ProtocolId::kAh: return "AH";
    case ProtocolId::kEsp: return "ESP";
    case ProtocolId::kIpcomp: return "IPCOMP";
  }
  return nullptr;
}

const char* TransformIdStr(ProtocolId proto, uint8_t id) {
  switch (proto) {
    case ProtocolId::kIsakmp:
      return id == kKeyIke ? "IKE" : nullptr;
    case ProtocolId::kAh:
      switch (static_cast<AhTransform>(id)) {
        case AhTransform::kMd5: return "MD5";
        case AhTransform::kSha: return "SHA";
        case AhTransform::kDes: return "DES";
        case AhTransform::kSha256: return "SHA2_256";
        case AhTransform::kSha384: return "SHA2_384";
        case AhTransform::kSha512: return "SHA2_512";
      }
      return nullptr;
    case ProtocolId::kEsp:
      switch (static_cast<EspTransform>(id)) {
        case EspTransform::kDesIv64: return "DES_IV64";
        case EspTransform::kDes: return "DES";
        case EspTransform::k3Des: return "3DES";
        case EspTransform::kRc5: return "RC5";
        case EspTransform::kIdea: return "IDEA";
        case EspTransform::kCast: return "CAST";
        case EspTransform::kBlowfish: return "BLOWFISH";
        case EspTransform::k3Idea: return "3IDEA";
        case EspTransform::kDesIv32: return "DES_IV32";
        case EspTransform::kRc4: return "RC4";
        case EspTransform::kNull: return "NULL";
        case EspTransform::kAes: return "AES";
        case EspTransform::kAesCtr: return "AES_CTR";
        case EspTransform::kAesCcm8: return "AES_CCM_8";
        case EspTransform::kAesCcm12: return "AES_CCM_12";
        case EspTransform::kAesCcm16: return "AES_CCM_16";
        case EspTransform::kAesGcm8: return "AES_GCM_8";
        case EspTransform::kAesGcm12: return "AES_GCM_12";
        case EspTransform::kAesGcm16: return "AES_GCM_16";
      }
      return nullptr;
    case ProtocolId::kIpcomp:
      switch (static_cast<IpcompTransform>(id)) {
        case IpcompTransform::kOui: return "OUI";
        case IpcompTransform::kDeflate: return "DEFLATE";
        case IpcompTransform::kLzs: return "LZS";
        case IpcompTransform::kLzjh: return "LZJH";
      }
      return nullptr;
  }
  return nullptr;
}

const char* P1EncStr(uint64_t v) {
  switch (v) {
    case 1: return "DES";
    case 2: return "IDEA";
    case 3: return "BLOWFISH";
    case 4: return "RC5";
    case 5: return "3DES";
    case 6: return "CAST";
    case 7: return "AES";
  }
  return nullptr;
}

const char* P1HashStr(uint64_t v) {
  switch (v) {
    case 1: return "MD5";
    case 2: return "SHA";
    case 3: return "TIGER";
    case 4: return "SHA2_256";
    case 5: return "SHA2_384";
    case 6: return "SHA2_512";
  }
  return nullptr;
}

const char* AuthMethodStr(uint64_t v) {
  switch (v) {
    case 1: return "PRESHARED";
    case 2: return "DSS";
    case 3: return "RSASIG";
    case 4: return "RSAENC";
    case 5: return "RSAREVENC";
    case 65001: return "XAUTH_INIT_PRESHARED";
    case 65002: return "XAUTH_RESP_PRESHARED";
    case 65003: return "XAUTH_INIT_DSS";
    case 65004: return "XAUTH_RESP_DSS";
    case 65005: return "XAUTH_INIT_RSA";
    case 65006: return "XAUTH_RESP_RSA";
  }
  return nullptr;
}

// The seed names MODP groups by their prime's size ("768(1)").
const char* GroupStr(uint64_t v) {
  switch (v) {
    case 1: return "768";
    case 2: return "1024";
    case 3: return "EC2N155";
    case 4: return "EC2N185";
    case 5: return "1536";
    case 14: return "2048";
    case 15: return "3072";
    case 16: return "4096";
    case 17: return "6144";
    case 18: return "8192";
    case 19: return "ECP256";
    case 20: return "ECP384";
    case 21: return "ECP521";
    case 22: return "1024_160";
    case 23: return "2048_224";
    case 24: return "2048_256";
  }
  return nullptr;
}

const char* GroupTypeStr(uint64_t v) {
  switch (v) {
    case 1: return "MODP";
    case 2: return "ECP";
    case 3: return "EC2N";
  }
  return nullptr;
}

// The group type a well-known group description implies.
const char* GroupTypeOf(uint64_t group) {
  if (group == 3 || group == 4) return "EC2N";
  if (group >= 19 && group <= 21) return "ECP";
  return "MODP";
}

const char* LifeTypeStr(uint64_t v) {
  switch (v) {
    case 1: return "SECONDS";
    case 2: return "KILOBYTES";
  }
  return nullptr;
}

const char* EncapStr(uint64_t v) {
  switch (v) {
    case 1: return "TUNNEL";
    case 2: return "TRANSPORT";
    case 3: return "UDP_TUNNEL";
    case 4: return "UDP_TRANSPORT";
    case 61443: return "UDP_TUNNEL_DRAFT";
    case 61444: return "UDP_TRANSPORT_DRAFT";
  }
  return nullptr;
}

const char* P2AuthStr(uint64_t v) {
  switch (v) {
    case 1: return "HMAC_MD5";
    case 2: return "HMAC_SHA";
    case 3: return "DES_MAC";
    case 4: return "KPDK";
    case 5: return "HMAC_SHA2_256";
    case 6: return "HMAC_SHA2_384";
    case 7: return "HMAC_SHA2_512";
  }
  return nullptr;
}

const char* IdTypeStr(uint8_t t) {
  switch (static_cast<IdType>(t)) {
    case IdType::kIpv4Addr: return "IPV4_ADDR";
    case IdType::kFqdn: return "FQDN";
    case IdType::kUserFqdn: return "USER_FQDN";
    case IdType::kIpv4Subnet: return "IPV4_ADDR_SUBNET";
    case IdType::kIpv6Addr: return "IPV6_ADDR";
    case IdType::kIpv6Subnet: return "IPV6_ADDR_SUBNET";
    case IdType::kIpv4Range: return "IPV4_ADDR_RANGE";
    case IdType::kIpv6Range: return "IPV6_ADDR_RANGE";
    case IdType::kDerAsn1Dn: return "DER_ASN1_DN";
    case IdType::kDerAsn1Gn: return "DER_ASN1_GN";
    case IdType::kKeyId: return "KEY_ID";
  }
  return nullptr;
}

const char* CertEncodingStr(uint8_t v) {
  switch (v) {
    case 1: return "PKCS7";
    case 2: return "PGP";
    case 3: return "DNS_KEY";
    case 4: return "X509_SIG";
    case 5: return "X509_KE";
    case 6: return "KERBEROS";
    case 7: return "CRL";
    case 8: return "ARL";
    case 9: return "SPKI";
    case 10: return "X509_ATTR";
  }
  return nullptr;
}

const char* CfgTypeStr(uint8_t v) {
  switch (static_cast<CfgType>(v)) {
    case CfgType::kRequest: return "REQUEST";
    case CfgType::kReply: return "REPLY";
    case CfgType::kSet: return "SET";
    case CfgType::kAck: return "ACK";
  }
  return nullptr;
}

const char* CfgAttrStr(uint16_t v) {
  switch (v) {
    case 1: return "INTERNAL_IP4_ADDRESS";
    case 2: return "INTERNAL_IP4_NETMASK";
    case 3: return "INTERNAL_IP4_DNS";
    case 4: return "INTERNAL_IP4_NBNS";
    case 5: return "INTERNAL_ADDRESS_EXPIRY";
    case 6: return "INTERNAL_IP4_DHCP";
    case 7: return "APPLICATION_VERSION";
    case 8: return "INTERNAL_IP6_ADDRESS";
    case 9: return "INTERNAL_IP6_NETMASK";
    case 10: return "INTERNAL_IP6_DNS";
    case 11: return "INTERNAL_IP6_NBNS";
    case 12: return "INTERNAL_IP6_DHCP";
    case 13: return "INTERNAL_IP4_SUBNET";
    case 14: return "SUPPORTED_ATTRIBUTES";
    case 15: return "INTERNAL_IP6_SUBNET";
    case 16520: return "XAUTH_TYPE";
    case 16521: return "XAUTH_USER_NAME";
    case 16522: return "XAUTH_USER_PASSWORD";
    case 16523: return "XAUTH_PASSCODE";
    case 16524: return "XAUTH_MESSAGE";
    case 16525: return "XAUTH_CHALLENGE";
    case 16526: return "XAUTH_DOMAIN";
    case 16527: return "XAUTH_STATUS";
    case 16528: return "XAUTH_NEXT_PIN";
    case 16529: return "XAUTH_ANSWER";
  }
  return nullptr;
}

// XAUTH credentials: the password, a token passcode, a new PIN, a challenge answer.
bool CfgAttrSecret(uint16_t v) {
  return v == static_cast<uint16_t>(CfgAttr::kXauthUserPassword) ||
         v == static_cast<uint16_t>(CfgAttr::kXauthPasscode) || v == 16528 || v == 16529;
}

const char* XauthTypeStr(uint64_t v) {
  switch (v) {
    case 0: return "GENERIC";
    case 1: return "RADIUS-CHAP";
    case 2: return "OTP";
    case 3: return "S/KEY";
  }
  return nullptr;
}

struct KnownVid {
  const char* name;
  const uint8_t* bytes;
  size_t len;      // bytes that must match
  bool prefix;     // longer ids (with version or flag bytes) match too
};

constexpr uint8_t kVidNatTDraft02[16] = {0xcd, 0x60, 0x46, 0x43, 0x35, 0xdf, 0x21, 0xf8,
                                         0x7c, 0xfd, 0xb2, 0xfc, 0x68, 0xb6, 0xa4, 0x48};
constexpr uint8_t kVidNatTDraft00[16] = {0x44, 0x85, 0x15, 0x2d, 0x18, 0xb6, 0xbb, 0xcd,
                                         0x0b, 0xe8, 0xa8, 0x46, 0x95, 0x79, 0xdd, 0xcc};
constexpr uint8_t kVidNatTDraft01[16] = {0x16, 0xf6, 0xca, 0x16, 0xe4, 0xa4, 0x06, 0x6d,
                                         0x83, 0x82, 0x1a, 0x0f, 0x0a, 0xea, 0xa8, 0x62};
// MD5("FRAGMENTATION") followed by 4 flag bytes (Cisco IKE fragmentation).
constexpr uint8_t kVidFragmentation[16] = {0x40, 0x48, 0xb7, 0xd5, 0x6e, 0xbc, 0xe8, 0x85,
                                           0x25, 0xe7, 0xde, 0x7f, 0x00, 0xd6, 0xc2, 0xd3};
// MD5("CISCO-UNITY") with the last two bytes replaced by the version.
constexpr uint8_t kVidCiscoUnity[14] = {0x12, 0xf5, 0xf2, 0x8c, 0x45, 0x71, 0x68,
                                        0xa9, 0x70, 0x2d, 0x9f, 0xe2, 0x74, 0xcc};
constexpr uint8_t kVidStrongswan[16] = {0x88, 0x2f, 0xe5, 0x6d, 0x6f, 0xd2, 0x0d, 0xbc,
                                        0x22, 0x51, 0x61, 0x3b, 0x2e, 0xbe, 0x5b, 0xeb};

constexpr KnownVid kKnownVids[] = {
    {"RFC 3947 NAT-T", kVidRfc3947, 16, false},
    {"NAT-T draft-ietf-ipsec-nat-t-ike-02\\n", kVidNatTDraft02n, 16, false},
    {"NAT-T draft-ietf-ipsec-nat-t-ike-02", kVidNatTDraft02, 16, false},
    {"NAT-T draft-ietf-ipsec-nat-t-ike-03", kVidNatTDraft03, 16, false},
    {"NAT-T draft-ietf-ipsec-nat-t-ike-00", kVidNatTDraft00, 16, false},
    {"NAT-T draft-ietf-ipsec-nat-t-ike-01", kVidNatTDraft01, 16, false},
    {"DPD (RFC 3706)", kVidDpd, 14, true},
    {"XAUTH", kVidXauth, 8, false},
    {"FRAGMENTATION", kVidFragmentation, 16, true},
    {"CISCO-UNITY", kVidCiscoUnity, 14, true},
    {"strongSwan", kVidStrongswan, 16, false},
};

// ---------------------------------------------------------------- attributes

std::string IntOrHex(const Attribute& a) {
  const std::optional<uint64_t> v = a.AsInt();
  return v.has_value() ? absl::StrCat(*v) : Hex(a.value);
}

std::string Enum(const Attribute& a, const char* (*name)(uint64_t)) {
  const std::optional<uint64_t> v = a.AsInt();
  if (!v.has_value()) return absl::StrCat("UNKNOWN(", Hex(a.value), ")");
  return Named(name(*v), *v);
}

// The life type and the duration after it print as one row, as the seed does
// ("Expiry Seconds....... 86400"); `i` is advanced past the duration.
void LifeRows(std::string& out, const std::vector<Attribute>& attrs, size_t& i,
              uint16_t type_attr, uint16_t duration_attr) {
  const Attribute& a = attrs[i];
  if (a.type == type_attr) {
    if (i + 1 < attrs.size() && attrs[i + 1].type == duration_attr) {
      const std::optional<uint64_t> t = a.AsInt();
      const char* label = (t == 1u) ? "Expiry Seconds" : (t == 2u) ? "Expiry Kilobytes"
                                                                   : "Expiry Duration";
      if (t != 1u && t != 2u) Row(out, "Expiry Type", Enum(a, LifeTypeStr));
      Row(out, label, IntOrHex(attrs[i + 1]));
      ++i;
    } else {
      Row(out, "Expiry Type", Enum(a, LifeTypeStr));
    }
  } else {
    Row(out, "Expiry Duration", IntOrHex(a));
  }
}

void P1Attrs(std::string& out, const std::vector<Attribute>& attrs) {
  bool explicit_group_type = false;
  for (const Attribute& a : attrs) {
    if (a.type == static_cast<uint16_t>(P1Attr::kGroupType)) explicit_group_type = true;
  }
  for (size_t i = 0; i < attrs.size(); ++i) {
    const Attribute& a = attrs[i];
    switch (static_cast<P1Attr>(a.type)) {
      case P1Attr::kEncryption: Row(out, "Encryption Algorithm", Enum(a, P1EncStr)); break;
      case P1Attr::kHash: Row(out, "Authentication Algorithm", Enum(a, P1HashStr)); break;
      case P1Attr::kAuthMethod: Row(out, "Authentication Method", Enum(a, AuthMethodStr)); break;
      case P1Attr::kGroupDesc:
        Row(out, "Group Description", Enum(a, GroupStr));
        if (!explicit_group_type) Row(out, "Group Type", GroupTypeOf(a.AsInt().value_or(0)));
        break;
      case P1Attr::kGroupType: {
        const std::optional<uint64_t> v = a.AsInt();
        const char* n = v.has_value() ? GroupTypeStr(*v) : nullptr;
        Row(out, "Group Type", n != nullptr ? std::string(n) : Enum(a, GroupTypeStr));
        break;
      }
      case P1Attr::kGroupPrime: Row(out, "Group Prime", Hex(a.value)); break;
      case P1Attr::kGroupGen1: Row(out, "Group Generator One", Hex(a.value)); break;
      case P1Attr::kGroupGen2: Row(out, "Group Generator Two", Hex(a.value)); break;
      case P1Attr::kGroupCurveA: Row(out, "Group Curve A", Hex(a.value)); break;
      case P1Attr::kGroupCurveB: Row(out, "Group Curve B", Hex(a.value)); break;
      case P1Attr::kGroupOrder: Row(out, "Group Order", Hex(a.value)); break;
      case P1Attr::kLifeType:
      case P1Attr::kLifeDuration:
        LifeRows(out, attrs, i, static_cast<uint16_t>(P1Attr::kLifeType),
                 static_cast<uint16_t>(P1Attr::kLifeDuration));
        break;
      case P1Attr::kPrf: Row(out, "PRF", IntOrHex(a)); break;
      case P1Attr::kKeyLength: Row(out, "Key Length", IntOrHex(a)); break;
      case P1Attr::kFieldSize: Row(out, "Field Size", IntOrHex(a)); break;
      default: Row(out, absl::StrCat("Attribute ", a.type), IntOrHex(a)); break;
    }
  }
}

void P2Attrs(std::string& out, const std::vector<Attribute>& attrs) {
  for (size_t i = 0; i < attrs.size(); ++i) {
    const Attribute& a = attrs[i];
    switch (static_cast<P2Attr>(a.type)) {
      case P2Attr::kLifeType:
      case P2Attr::kLifeDuration:
        LifeRows(out, attrs, i, static_cast<uint16_t>(P2Attr::kLifeType),
                 static_cast<uint16_t>(P2Attr::kLifeDuration));
        break;
      case P2Attr::kGroupDesc: Row(out, "Group Description", Enum(a, GroupStr)); break;
      case P2Attr::kEncapMode: Row(out, "Encapsulation Mode", Enum(a, EncapStr)); break;
      case P2Attr::kAuthAlg: Row(out, "Authentication Algorithm", Enum(a, P2AuthStr)); break;
      case P2Attr::kKeyLength: Row(out, "Key Length", IntOrHex(a)); break;
      case P2Attr::kKeyRounds: Row(out, "Key Rounds", IntOrHex(a)); break;
      case P2Attr::kCompDictSize: Row(out, "Compress Dictionary Size", IntOrHex(a)); break;
      case P2Attr::kCompPrivAlg: Row(out, "Compress Private Algorithm", IntOrHex(a)); break;
      case P2Attr::kEsnFlag: Row(out, "Extended Sequence Number", IntOrHex(a)); break;
      default: Row(out, absl::StrCat("Attribute ", a.type), IntOrHex(a)); break;
    }
  }
}

// ---------------------------------------------------------------- payloads

void DumpBlob(std::string& out, absl::string_view label, ByteSpan b) {
  Line(out, absl::StrCat(label, " (", b.size(), " bytes): ", Hex(b)));
}

void DumpError(std::string& out, const absl::Status& s) {
  Line(out, absl::StrCat("Malformed: ", s.message()));
}

void DumpSa(std::string& out, ByteSpan body) {
  if (body.size() >= 8) {
    uint32_t doi = 0, sit = 0;
    for (int i = 0; i < 4; ++i) doi = (doi << 8) | body[i];
    for (int i = 4; i < 8; ++i) sit = (sit << 8) | body[i];
    Line(out, absl::StrFormat("DOI: %s Situation: %08x", DoiStr(doi), sit));
  }
  auto sa = ParseSa(body);
  if (!sa.ok()) {
    DumpError(out, sa.status());
    DumpBlob(out, "Data", body);
    return;
  }
  for (const Proposal& p : sa->proposals) {
    const std::string spi = p.spi.empty() ? "" : absl::StrCat(" ", Hex(p.spi));
    Line(out, absl::StrCat("Proposal#: ", p.number, " Protocol: ",
                           Named(ProtocolStr(static_cast<uint8_t>(p.protocol)),
                                 static_cast<uint8_t>(p.protocol)),
                           " #Trans: ", p.transforms.size(), " SPI:", spi));
    for (const Transform& t : p.transforms) {
      Line(out, absl::StrCat("Transform#: ", t.number));
      Row(out, "Transform Id ", Named(TransformIdStr(p.protocol, t.id), t.id));
      if (p.protocol == ProtocolId::kIsakmp) {
        P1Attrs(out, t.attrs);
      } else {
        P2Attrs(out, t.attrs);
      }
    }
  }
}

std::string IdData(IdType type, ByteSpan d) {
  switch (type) {
    case IdType::kIpv4Addr: return Ip4(d);
    case IdType::kIpv4Subnet: return absl::StrCat(Ip4(d), "/", Ip4(d.subspan(4)));
    case IdType::kIpv4Range: return absl::StrCat(Ip4(d), "-", Ip4(d.subspan(4)));
    case IdType::kIpv6Addr: return Ip6(d);
    case IdType::kIpv6Subnet: return absl::StrCat(Ip6(d), "/", Ip6(d.subspan(16)));
    case IdType::kIpv6Range: return absl::StrCat(Ip6(d), "-", Ip6(d.subspan(16)));
    case IdType::kFqdn:
    case IdType::kUserFqdn:
    case IdType::kKeyId: return Text(d);
    default: return Hex(d);
  }
}

void DumpId(std::string& out, ByteSpan body) {
  auto id = ParseId(body);
  if (!id.ok()) {
    DumpError(out, id.status());
    DumpBlob(out, "Data", body);
    return;
  }
  const uint8_t t = static_cast<uint8_t>(id->type);
  Line(out, absl::StrCat("ID Type: ", Named(IdTypeStr(t), t), " Protocol: ", id->protocol,
                         " Port: ", id->port));
  Line(out, absl::StrCat("ID Data: ", IdData(id->type, id->data)));
}

void DumpNotify(std::string& out, ByteSpan body) {
  auto n = ParseNotify(body);
  if (!n.ok()) {
    DumpError(out, n.status());
    DumpBlob(out, "Data", body);
    return;
  }
  const uint8_t proto = static_cast<uint8_t>(n->protocol);
  Line(out, absl::StrCat("DOI: ", DoiStr(n->doi), " Protocol: ", Named(ProtocolStr(proto), proto),
                         " SPI Size: ", n->spi.size(), " Type: ", Named(NotifyStr(n->type), n->type)));
  if (!n->spi.empty()) Line(out, absl::StrCat("SPI: ", Hex(n->spi)));
  if (n->data.empty()) return;
  const auto type = static_cast<NotifyType>(n->type);
  if ((type == NotifyType::kDpdRUThere || type == NotifyType::kDpdRUThereAck) &&
      n->data.size() == 4) {
    uint32_t seq = 0;
    for (uint8_t b : n->data) seq = (seq << 8) | b;
    Line(out, absl::StrCat("Sequence: ", seq));
    return;
  }
  if (type == NotifyType::kResponderLifetime) {
    auto attrs = ParseAttributes(n->data);
    if (attrs.ok()) {
      if (n->protocol == ProtocolId::kIsakmp) {
        P1Attrs(out, *attrs);
      } else {
        P2Attrs(out, *attrs);
      }
      return;
    }
  }
  DumpBlob(out, "Notify Data", n->data);
}

void DumpDelete(std::string& out, ByteSpan body) {
  auto d = ParseDelete(body);
  if (!d.ok()) {
    DumpError(out, d.status());
    DumpBlob(out, "Data", body);
    return;
  }
  const uint8_t proto = static_cast<uint8_t>(d->protocol);
  Line(out, absl::StrCat("DOI: ", DoiStr(d->doi), " Protocol: ", Named(ProtocolStr(proto), proto),
                         " SPI Size: ", d->spi_size, " #SPIs: ", d->spis.size()));
  for (size_t i = 0; i < d->spis.size() && i < kMaxSpis; ++i) {
    Line(out, absl::StrCat("SPI: ", Hex(d->spis[i])));
  }
  if (d->spis.size() > kMaxSpis) {
    Line(out, absl::StrCat("... ", d->spis.size() - kMaxSpis, " more SPIs"));
  }
}

void DumpVid(std::string& out, ByteSpan body) {
  const std::string name = VendorIdName(body);
  Line(out, absl::StrCat("Vendor ID: ", name.empty() ? "UNKNOWN" : name, " (", Hex(body), ")"));
}

void DumpNatOa(std::string& out, ByteSpan body) {
  // RFC 3947 section 5.2: ID type, three RESERVED bytes, the address.
  if (body.size() == 8 && body[0] == static_cast<uint8_t>(IdType::kIpv4Addr)) {
    Line(out, absl::StrCat("NAT-OA: IPV4_ADDR(1) ", Ip4(body.subspan(4))));
  } else if (body.size() == 20 && body[0] == static_cast<uint8_t>(IdType::kIpv6Addr)) {
    Line(out, absl::StrCat("NAT-OA: IPV6_ADDR(5) ", Ip6(body.subspan(4))));
  } else {
    DumpBlob(out, "NAT-OA Data", body);
  }
}

std::string CfgValue(const Attribute& a) {
  if (CfgAttrSecret(a.type)) return a.value.empty() ? "" : kMasked;
  switch (static_cast<CfgAttr>(a.type)) {
    case CfgAttr::kInternalIp4Address:
    case CfgAttr::kInternalIp4Netmask:
    case CfgAttr::kInternalIp4Dns:
      if (a.value.size() == 4) return Ip4(a.value);
      break;
    case CfgAttr::kXauthType: return Enum(a, XauthTypeStr);
    case CfgAttr::kXauthStatus: {
      const std::optional<uint64_t> v = a.AsInt();
      if (v == 0u) return "FAIL(0)";
      if (v == 1u) return "OK(1)";
      break;
    }
    case CfgAttr::kXauthUserName:
    case CfgAttr::kXauthMessage:
    case CfgAttr::kXauthChallenge:
    case CfgAttr::kXauthDomain:
      return Text(a.value);
    default: break;
  }
  if (a.type == 4 || a.type == 6) {   // INTERNAL_IP4_NBNS, INTERNAL_IP4_DHCP
    if (a.value.size() == 4) return Ip4(a.value);
  }
  if (a.type == 13 && a.value.size() == 8) {   // INTERNAL_IP4_SUBNET
    return absl::StrCat(Ip4(a.value), "/", Ip4(ByteSpan(a.value).subspan(4)));
  }
  if (a.type == 7) return Text(a.value);       // APPLICATION_VERSION
  return a.basic ? IntOrHex(a) : Hex(a.value);
}

void DumpAttr(std::string& out, ByteSpan body) {
  auto a = ParseAttr(body);
  if (!a.ok()) {
    // No hex here: the bytes may hold a password.
    DumpError(out, a.status());
    return;
  }
  const uint8_t t = static_cast<uint8_t>(a->type);
  Line(out, absl::StrCat("Type: ", Named(CfgTypeStr(t), t), " Identifier: ", a->identifier));
  for (const Attribute& at : a->attrs) {
    Row(out, Named(CfgAttrStr(at.type), at.type), CfgValue(at));
  }
}

void DumpCert(std::string& out, ByteSpan body, bool request) {
  if (body.empty()) {
    Line(out, "Malformed: no certificate encoding");
    return;
  }
  Line(out, absl::StrCat(request ? "Cert Type: " : "Cert Encoding: ",
                         Named(CertEncodingStr(body[0]), body[0])));
  if (request) {
    if (body.size() > 1) DumpBlob(out, "Certificate Authority", body.subspan(1));
  } else {
    DumpBlob(out, "Cert Data", body.subspan(1));
  }
}

void DumpPayload(std::string& out, const Payload& p) {
  const ByteSpan b(p.body);
  switch (p.type) {
    case PayloadType::kSa: DumpSa(out, b); break;
    case PayloadType::kKe: DumpBlob(out, "Key Exchange Data", b); break;
    case PayloadType::kId: DumpId(out, b); break;
    case PayloadType::kCert: DumpCert(out, b, false); break;
    case PayloadType::kCertReq: DumpCert(out, b, true); break;
    case PayloadType::kHash: DumpBlob(out, "Hash Data", b); break;
    case PayloadType::kSig: DumpBlob(out, "Signature Data", b); break;
    case PayloadType::kNonce: DumpBlob(out, "Nonce Data", b); break;
    case PayloadType::kNotify: DumpNotify(out, b); break;
    case PayloadType::kDelete: DumpDelete(out, b); break;
    case PayloadType::kVendorId: DumpVid(out, b); break;
    case PayloadType::kAttr: DumpAttr(out, b); break;
    case PayloadType::kNatD:
    case PayloadType::kNatDDraft: DumpBlob(out, "NAT-D Hash", b); break;
    case PayloadType::kNatOa:
    case PayloadType::kNatOaDraft: DumpNatOa(out, b); break;
    default: DumpBlob(out, "Data", b); break;
  }
}

}  // namespace

std::string ExchangeName(ExchangeType x) {
  const char* n = ExchangeStr(static_cast<uint8_t>(x));
  return n != nullptr ? n : absl::StrCat("UNKNOWN(", static_cast<int>(x), ")");
}

std::string PayloadName(PayloadType t) {
  const char* n = PayloadStr(static_cast<uint8_t>(t));
  return n != nullptr ? n : absl::StrCat("UNKNOWN(", static_cast<int>(t), ")");
}

std::string NotifyName(uint16_t type) {
  const char* n = NotifyStr(type);
  return n != nullptr ? n : absl::StrCat("UNKNOWN(", type, ")");
}

std::string VendorIdName(ByteSpan vid) {
  for (const KnownVid& k : kKnownVids) {
    if (k.prefix ? vid.size() < k.len : vid.size() != k.len) continue;
    if (std::memcmp(vid.data(), k.bytes, k.len) == 0) return k.name;
  }
  return "";
}

std::string DumpMessage(const Header& h, const std::vector<Payload>& payloads, bool tx) {
  std::string out;
  Line(out, absl::StrCat("ISAKMP ", tx ? "Tx" : "Rx", " Message"));
  Line(out, absl::StrFormat("Cookie's: %016x:%016x", h.icookie, h.rcookie));
  std::string flags;
  if (h.flags & kFlagEncryption) flags += " encrypted";
  if (h.flags & kFlagCommit) flags += " commit";
  if (h.flags & kFlagAuthOnly) flags += " auth-only";
  if (!flags.empty()) flags = absl::StrCat(" (", flags.substr(1), ")");
  const uint8_t x = static_cast<uint8_t>(h.exchange);
  Line(out, absl::StrFormat("Xchg Type: %s Ver: %02x Flags: %02x%s", Named(ExchangeStr(x), x),
                            h.version, h.flags, flags));
  Line(out, absl::StrFormat("MessageID: %08x Total Length: %u", h.message_id, h.length));
  for (size_t i = 0; i < payloads.size(); ++i) {
    const Payload& p = payloads[i];
    Line(out, absl::StrCat("Payload #: ", i, " Length: ", kGenericHeaderLen + p.body.size(),
                           " Type: ", PayloadName(p.type)));
    DumpPayload(out, p);
  }
  return out;
}

std::string DumpRaw(ByteSpan d, bool tx) {
  std::string out;
  Line(out, absl::StrCat("ISAKMP ", tx ? "Tx" : "Rx", " Raw Message Length: ", d.size()));
  std::string line;
  for (size_t i = 0; i < d.size(); ++i) {
    absl::StrAppendFormat(&line, "%02x", d[i]);
    if (i % 32 == 31 || i + 1 == d.size()) {
      Line(out, line);
      line.clear();
    }
  }
  return out;
}

}  // namespace arsec::ike
