// ISAKMP / IKEv1 wire constants: RFC 2408 (ISAKMP), RFC 2407 (IPsec DOI), RFC 2409 (IKE,
// appendix A), RFC 3947 (NAT-T), RFC 3706 (DPD), draft-beaulieu-ike-xauth-02 and
// draft-dukes-ike-mode-cfg-02. Values only; the codec and the exchanges give them meaning.
#pragma once

#include <cstdint>

namespace arsec::ike {

inline constexpr uint16_t kIkePort = 500;
inline constexpr uint16_t kNatTPort = 4500;
inline constexpr uint32_t kDoiIpsec = 1;
inline constexpr uint32_t kSituationIdentityOnly = 1;

inline constexpr uint8_t kFlagEncryption = 0x01;
inline constexpr uint8_t kFlagCommit = 0x02;
inline constexpr uint8_t kFlagAuthOnly = 0x04;

enum class ExchangeType : uint8_t {
  kNone = 0,
  kBase = 1,
  kIdProt = 2,          // Main Mode
  kAuthOnly = 3,
  kAggressive = 4,
  kInformational = 5,
  kTransaction = 6,     // XAUTH / Mode Config
  kQuick = 32,
  kNewGroup = 33,
};

enum class PayloadType : uint8_t {
  kNone = 0,
  kSa = 1,
  kProposal = 2,
  kTransform = 3,
  kKe = 4,
  kId = 5,
  kCert = 6,
  kCertReq = 7,
  kHash = 8,
  kSig = 9,
  kNonce = 10,
  kNotify = 11,
  kDelete = 12,
  kVendorId = 13,
  kAttr = 14,           // XAUTH / Mode Config attributes
  kNatD = 20,           // RFC 3947
  kNatOa = 21,
  kNatDDraft = 130,     // draft-ietf-ipsec-nat-t-ike-02/03
  kNatOaDraft = 131,
};

enum class ProtocolId : uint8_t {
  kIsakmp = 1,
  kAh = 2,
  kEsp = 3,
  kIpcomp = 4,
};

// Phase 1 transform id (RFC 2407 4.4.2).
inline constexpr uint8_t kKeyIke = 1;

// Phase 2 transform ids (RFC 2407 4.4.3-4.4.5, RFC 4106, RFC 3602).
enum class AhTransform : uint8_t { kMd5 = 2, kSha = 3, kDes = 4, kSha256 = 5, kSha384 = 6, kSha512 = 7 };
enum class EspTransform : uint8_t {
  kDesIv64 = 1, kDes = 2, k3Des = 3, kRc5 = 4, kIdea = 5, kCast = 6, kBlowfish = 7,
  k3Idea = 8, kDesIv32 = 9, kRc4 = 10, kNull = 11, kAes = 12, kAesCtr = 13,
  kAesCcm8 = 14, kAesCcm12 = 15, kAesCcm16 = 16, kAesGcm8 = 18, kAesGcm12 = 19,
  kAesGcm16 = 20,
};
enum class IpcompTransform : uint8_t { kOui = 1, kDeflate = 2, kLzs = 3, kLzjh = 4 };

// Phase 1 attributes (RFC 2409 appendix A).
enum class P1Attr : uint16_t {
  kEncryption = 1,
  kHash = 2,
  kAuthMethod = 3,
  kGroupDesc = 4,
  kGroupType = 5,
  kGroupPrime = 6,
  kGroupGen1 = 7,
  kGroupGen2 = 8,
  kGroupCurveA = 9,
  kGroupCurveB = 10,
  kLifeType = 11,
  kLifeDuration = 12,
  kPrf = 13,
  kKeyLength = 14,
  kFieldSize = 15,
  kGroupOrder = 16,
};
enum class P1Encryption : uint16_t {
  kDes = 1, kIdea = 2, kBlowfish = 3, kRc5 = 4, k3Des = 5, kCast = 6, kAes = 7,
};
enum class P1Hash : uint16_t { kMd5 = 1, kSha = 2, kTiger = 3, kSha256 = 4, kSha384 = 5, kSha512 = 6 };
enum class AuthMethod : uint16_t {
  kPsk = 1, kDss = 2, kRsaSig = 3, kRsaEnc = 4, kRsaRevEnc = 5,
  // draft-beaulieu-ike-xauth-02: the XAUTH variants (initiator authenticates by XAUTH).
  kXauthInitPsk = 65001, kXauthRespPsk = 65002, kXauthInitDss = 65003, kXauthRespDss = 65004,
  kXauthInitRsa = 65005, kXauthRespRsa = 65006,
};
enum class LifeType : uint16_t { kSeconds = 1, kKilobytes = 2 };

// Phase 2 (IPsec DOI) SA attributes (RFC 2407 4.5, RFC 3947 for encapsulation modes).
enum class P2Attr : uint16_t {
  kLifeType = 1,
  kLifeDuration = 2,
  kGroupDesc = 3,
  kEncapMode = 4,
  kAuthAlg = 5,
  kKeyLength = 6,
  kKeyRounds = 7,
  kCompDictSize = 8,
  kCompPrivAlg = 9,
  kEsnFlag = 11,        // RFC 4304
};
enum class EncapMode : uint16_t {
  kTunnel = 1,
  kTransport = 2,
  kUdpTunnel = 3,         // RFC 3947
  kUdpTransport = 4,
  kUdpTunnelDraft = 61443,  // draft-ietf-ipsec-nat-t-ike-0x
  kUdpTransportDraft = 61444,
};
enum class P2AuthAlg : uint16_t {
  kHmacMd5 = 1, kHmacSha = 2, kDesMac = 3, kKpdk = 4,
  kHmacSha256 = 5, kHmacSha384 = 6, kHmacSha512 = 7,
};

// Identification types (RFC 2407 4.6.2.1).
enum class IdType : uint8_t {
  kIpv4Addr = 1,
  kFqdn = 2,
  kUserFqdn = 3,
  kIpv4Subnet = 4,
  kIpv6Addr = 5,
  kIpv6Subnet = 6,
  kIpv4Range = 7,
  kIpv6Range = 8,
  kDerAsn1Dn = 9,
  kDerAsn1Gn = 10,
  kKeyId = 11,
};

// Notify message types (RFC 2408 3.14.1, RFC 2407 4.6.3, RFC 3706).
enum class NotifyType : uint16_t {
  kInvalidPayloadType = 1,
  kDoiNotSupported = 2,
  kSituationNotSupported = 3,
  kInvalidCookie = 4,
  kInvalidMajorVersion = 5,
  kInvalidMinorVersion = 6,
  kInvalidExchangeType = 7,
  kInvalidFlags = 8,
  kInvalidMessageId = 9,
  kInvalidProtocolId = 10,
  kInvalidSpi = 11,
  kInvalidTransformId = 12,
  kAttributesNotSupported = 13,
  kNoProposalChosen = 14,
  kBadProposalSyntax = 15,
  kPayloadMalformed = 16,
  kInvalidKeyInformation = 17,
  kInvalidIdInformation = 18,
  kInvalidCertEncoding = 19,
  kInvalidCertificate = 20,
  kCertTypeUnsupported = 21,
  kInvalidCertAuthority = 22,
  kInvalidHashInformation = 23,
  kAuthenticationFailed = 24,
  kInvalidSignature = 25,
  kAddressNotification = 26,
  kNotifySaLifetime = 27,
  kCertificateUnavailable = 28,
  kUnsupportedExchangeType = 29,
  kUnequalPayloadLengths = 30,
  kConnected = 16384,
  kResponderLifetime = 24576,   // RFC 2407 4.6.3.1
  kReplayStatus = 24577,
  kInitialContact = 24578,
  kDpdRUThere = 36136,          // RFC 3706
  kDpdRUThereAck = 36137,
};

// Certificate encodings (RFC 2408 3.9).
enum class CertEncoding : uint8_t { kX509Sig = 4 };

// Attribute payload types and attributes (XAUTH, Mode Config).
enum class CfgType : uint8_t { kRequest = 1, kReply = 2, kSet = 3, kAck = 4 };
enum class CfgAttr : uint16_t {
  kInternalIp4Address = 1,
  kInternalIp4Netmask = 2,
  kInternalIp4Dns = 3,
  kXauthType = 16520,
  kXauthUserName = 16521,
  kXauthUserPassword = 16522,
  kXauthPasscode = 16523,
  kXauthMessage = 16524,
  kXauthChallenge = 16525,
  kXauthDomain = 16526,
  kXauthStatus = 16527,
};

// Fixed vendor ids (MD5 of the strings, as every implementation sends them).
// RFC 3947: MD5("RFC 3947"); draft-ietf-ipsec-nat-t-ike-02\n and -03; RFC 3706 DPD;
// draft-beaulieu-ike-xauth-02.
inline constexpr uint8_t kVidRfc3947[16] = {0x4a, 0x13, 0x1c, 0x81, 0x07, 0x03, 0x58, 0x45,
                                            0x5c, 0x57, 0x28, 0xf2, 0x0e, 0x95, 0x45, 0x2f};
inline constexpr uint8_t kVidNatTDraft02n[16] = {0x90, 0xcb, 0x80, 0x91, 0x3e, 0xbb, 0x69, 0x6e,
                                                 0x08, 0x63, 0x81, 0xb5, 0xec, 0x42, 0x7b, 0x1f};
inline constexpr uint8_t kVidNatTDraft03[16] = {0x7d, 0x94, 0x19, 0xa6, 0x53, 0x10, 0xca, 0x6f,
                                                0x2c, 0x17, 0x9d, 0x92, 0x15, 0x52, 0x9d, 0x56};
inline constexpr uint8_t kVidDpd[16] = {0xaf, 0xca, 0xd7, 0x13, 0x68, 0xa1, 0xf1, 0xc9,
                                        0x6b, 0x86, 0x96, 0xfc, 0x77, 0x57, 0x01, 0x00};
inline constexpr uint8_t kVidXauth[8] = {0x09, 0x00, 0x26, 0x89, 0xdf, 0xd6, 0xb7, 0x12};

}  // namespace arsec::ike
