// The ISAKMP message codec (RFC 2408 section 3, RFC 2407 section 4, RFC 2409, RFC 3947,
// draft-beaulieu-ike-xauth-02, draft-dukes-ike-mode-cfg-02): bounds-checked parsing and
// building of the ISAKMP header, the generic payload chain and every payload IKEv1 uses.
//
// It never touches exchange state and never encrypts: an exchange hands it the plaintext
// payload area (after the crypto layer decrypted it) and gets bytes back to encrypt.
// Payload bodies are kept raw next to their parsed form because IKEv1 hashes raw
// bodies (SAi_b, IDii_b: RFC 2409 section 5) and they must be exactly what was sent.
//
// Every parse error is an InvalidArgument status whose message names the field and the
// offset; `NotifyFor(status)` says which RFC 2408 notify (PAYLOAD-MALFORMED,
// INVALID-PAYLOAD-TYPE, ...) a responder may answer with.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "control/ike/isakmp_wire.h"

namespace arsec::ike {

using Bytes = std::vector<uint8_t>;
using ByteSpan = absl::Span<const uint8_t>;

inline constexpr size_t kHeaderLen = 28;
inline constexpr size_t kGenericHeaderLen = 4;
inline constexpr size_t kMaxMessageLen = 65535 - 28;  // UDP over IPv4, minus headers

struct Header {
  uint64_t icookie = 0;        // host order (the 8 bytes big-endian on the wire)
  uint64_t rcookie = 0;
  PayloadType next = PayloadType::kNone;
  uint8_t version = 0x10;      // major 1, minor 0
  ExchangeType exchange = ExchangeType::kNone;
  uint8_t flags = 0;           // kFlagEncryption | kFlagCommit | kFlagAuthOnly
  uint32_t message_id = 0;     // host order
  uint32_t length = 0;         // whole message, header included (as received / as built)
};

// One payload of the chain: its type and its body (after the 4-byte generic header).
struct Payload {
  PayloadType type = PayloadType::kNone;
  Bytes body;
};

// A data attribute (RFC 2408 3.3): TV (basic, 2-byte value) or TLV (variable).
struct Attribute {
  uint16_t type = 0;           // without the AF bit
  bool basic = true;           // AF=1: the value is the 2-byte field
  Bytes value;                 // basic: 2 bytes big-endian; TLV: the bytes
  static Attribute Basic(uint16_t type, uint16_t v);
  static Attribute Variable(uint16_t type, Bytes v);
  // The value as an unsigned integer (basic, or a TLV of up to 8 bytes); nullopt if longer.
  std::optional<uint64_t> AsInt() const;
};

struct Transform {
  uint8_t number = 1;
  uint8_t id = 0;              // KEY_IKE (1) in phase 1; ESP_/AH_/IPCOMP_ transform id in phase 2
  std::vector<Attribute> attrs;
  const Attribute* Find(uint16_t type) const;
};

struct Proposal {
  uint8_t number = 1;          // proposals with the same number are ANDed (RFC 2408 4.2)
  ProtocolId protocol = ProtocolId::kIsakmp;
  Bytes spi;                   // 0 bytes (phase 1), 4 (ESP/AH), 2 or 4 (IPComp CPI)
  std::vector<Transform> transforms;
};

struct SaPayload {
  uint32_t doi = kDoiIpsec;
  uint32_t situation = kSituationIdentityOnly;
  std::vector<Proposal> proposals;
};

struct IdPayload {
  IdType type = IdType::kIpv4Addr;
  uint8_t protocol = 0;        // phase 2: IP protocol (0 = any)
  uint16_t port = 0;           // phase 2: port (0 = any), host order
  Bytes data;                  // the identification data (address, address+mask, FQDN ...)
};

struct NotifyPayload {
  uint32_t doi = kDoiIpsec;
  ProtocolId protocol = ProtocolId::kIsakmp;
  uint16_t type = 0;           // NotifyType value (errors < 16384, status >= 16384)
  Bytes spi;                   // phase 1: the two cookies (16 bytes) or empty
  Bytes data;
};

struct DeletePayload {
  uint32_t doi = kDoiIpsec;
  ProtocolId protocol = ProtocolId::kIsakmp;
  uint8_t spi_size = 16;       // 16 for ISAKMP (both cookies), 4 for ESP/AH
  std::vector<Bytes> spis;     // each spi_size bytes
};

// The attribute payload of XAUTH / Mode Config (payload type 14).
struct AttrPayload {
  CfgType type = CfgType::kRequest;
  uint16_t identifier = 0;
  std::vector<Attribute> attrs;
};

struct Message {
  Header header;
  std::vector<Payload> payloads;
  // The first payload of `type`, or nullptr.
  const Payload* Find(PayloadType type) const;
  std::vector<const Payload*> FindAll(PayloadType type) const;
};

// ---- the header and the chain
absl::StatusOr<Header> ParseHeader(ByteSpan datagram);
void AppendHeader(const Header& h, Bytes& out);               // 28 bytes
// The payload chain of a plaintext area whose first payload is `first`; trailing bytes
// after the last payload (CBC padding) are ignored, but a payload running past the end,
// a length < 4, or an unknown critical type is an error.
absl::StatusOr<std::vector<Payload>> ParseChain(PayloadType first, ByteSpan area);
// The payloads with their generic headers, next-payload fields chained, last one kNone.
Bytes BuildChain(const std::vector<Payload>& payloads);
// A whole plaintext message: header (next = first payload, length set) + chain.
Bytes BuildMessage(Header h, const std::vector<Payload>& payloads);
// A whole received plaintext message (flags.E must be clear).
absl::StatusOr<Message> ParseMessage(ByteSpan datagram);

// ---- typed payload bodies
absl::StatusOr<SaPayload> ParseSa(ByteSpan body);
Bytes BuildSa(const SaPayload& sa);
absl::StatusOr<IdPayload> ParseId(ByteSpan body);
Bytes BuildId(const IdPayload& id);
absl::StatusOr<NotifyPayload> ParseNotify(ByteSpan body);
Bytes BuildNotify(const NotifyPayload& n);
absl::StatusOr<DeletePayload> ParseDelete(ByteSpan body);
Bytes BuildDelete(const DeletePayload& d);
absl::StatusOr<AttrPayload> ParseAttr(ByteSpan body);
Bytes BuildAttr(const AttrPayload& a);
// Data attributes in a row (transform attributes, attribute payloads).
absl::StatusOr<std::vector<Attribute>> ParseAttributes(ByteSpan data);
void AppendAttributes(const std::vector<Attribute>& attrs, Bytes& out);
// KE, NONCE, HASH, SIG, VID, NAT-D, NAT-OA, CERT and CERTREQ bodies are used raw.

// The RFC 2408 notify a responder may send for a parse error (kPayloadMalformed when
// the status carries no better one).
NotifyType NotifyFor(const absl::Status& s);

}  // namespace arsec::ike
