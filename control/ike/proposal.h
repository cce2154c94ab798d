// SA negotiation as pure data (RFC 2408 4.2, RFC 2407 4.4-4.6, RFC 2409 5.5, RFC 3947 5):
// building our SA payloads from configuration, choosing among a peer's proposals as the
// responder, and checking the responder's choice as the initiator. No I/O, no crypto, no
// exchange state: the exchanges (phase1_exchange, quick_exchange) call these functions
// with parsed payloads and configuration snapshots.
//
// Phase 1 (ISAKMP SA): one proposal of protocol ISAKMP, one KEY_IKE transform per offer.
// The responder takes the peer's transforms in the peer's order and the first one that
// equals one of our offers in cipher, key length, hash, authentication method and group.
//
// Phase 2 (Quick Mode): the bundle STRING is the proposal. Each comma-separated
// alternative becomes one protection suite: proposal payloads sharing one proposal number
// (RFC 2408 4.2: same number = AND), one per protocol in the order the bundle applies
// them (IPComp, ESP, AH); each "or" spec of a slot becomes another transform of that
// protocol's proposal (transforms of one proposal = OR). strongSwan sends ESP before
// IPComp and skips suites that pair AH with ESP; it accepts ESP+IPComp in either order, so
// the order we send is the bundle's. As the responder we take the peer's suites in its
// order and, for each, our alternatives in ours; a suite is chosen when it carries
// exactly the protocols of an alternative and every protocol has a transform that one of
// the slot's SA specifications accepts.
//
// Lifetimes: IKEv1 does not negotiate lifetimes, the initiator proposes them. Like
// strongSwan (which adopts the received lifetime) we accept any proposed lifetime; like
// the RFC asks we then use the smaller of the peer's and ours, and when ours is smaller
// the choice says so (lifetime_lowered) so that the exchange sends RESPONDER-LIFETIME
// (RFC 2407 4.6.3.1) with LifetimeAttributes(). The transform we echo stays the peer's,
// verbatim, as RFC 2408 4.2 requires.
//
// Errors are absl::Status values carrying the notify to answer with, readable with
// NotifyFor() (isakmp_codec.h): NO-PROPOSAL-CHOSEN with a reason naming what did not
// match (for the log; it never holds keys), ATTRIBUTES-NOT-SUPPORTED when every transform
// failed on attributes we do not implement, BAD-PROPOSAL-SYNTAX when the structure is
// wrong (duplicate attributes, a life duration without a life type, decreasing proposal
// numbers, a protocol twice in one suite).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "control/ike/ike_crypto.h"
#include "control/ike/isakmp_codec.h"
#include "control/ike/isakmp_wire.h"
#include "control/ipsec/ipsec_types.h"

namespace arsec::ike {

// A status carrying `notify` (read back by NotifyFor) and the reason text.
absl::Status NegotiationError(NotifyType notify, std::string reason);

// ---------------------------------------------------------------- phase 1

// One acceptable set of ISAKMP SA parameters (an ISAKMP policy's ENCALG, HASHALG,
// AUTHTYPE, GROUP, EXPIRYSECONDS, EXPIRYKBYTES).
struct Phase1Offer {
  P1Encryption enc = P1Encryption::kDes;  // kDes, k3Des or kAes
  uint16_t key_bits = 0;                  // AES: 128, 192 or 256; 0 otherwise
  P1Hash hash = P1Hash::kSha;             // kMd5, kSha, kSha256 (kSha384, kSha512)
  AuthMethod auth = AuthMethod::kPsk;     // as on the wire: XAUTH variants included
  int group = 1;                          // MODP group
  uint32_t life_seconds = 86400;          // 0 = no limit
  uint64_t life_kbytes = 0;               // 0 = no limit
};

// The authentication method on the wire when XAUTH is in use
// (draft-beaulieu-ike-xauth-02): the "Init" variants when the phase 1 initiator is the
// XAUTH client (a client dialling in with XAUTH=CLIENT, or a server with XAUTH=SERVER
// answering one), the "Resp" variants when the phase 1 responder is the XAUTH client.
// `base` is kPsk, kDss or kRsaSig.
AuthMethod XauthAuthMethod(AuthMethod base, bool initiator_is_xauth_client);
// kPsk, kDss or kRsaSig for any method (the XAUTH variants mapped back).
AuthMethod BaseAuthMethod(AuthMethod wire);
bool IsXauthMethod(AuthMethod wire);

struct Phase1Choice {
  P1Encryption enc = P1Encryption::kDes;
  uint16_t key_bits = 0;                  // AES key bits; 0 for DES/3DES
  P1Hash hash = P1Hash::kSha;
  AuthMethod auth = AuthMethod::kPsk;     // as negotiated (XAUTH variants included)
  int group = 1;
  uint32_t life_seconds = 0;              // what this SA uses; 0 = no limit
  uint64_t life_kbytes = 0;
  P1Cipher cipher = P1Cipher::kDes;       // the crypto layer's names of enc and hash
  PrfHash prf = PrfHash::kSha1;
  size_t offer = 0;                       // index of the offer it matched
  // Responder: our lifetime is shorter than the peer proposed (or the peer proposed
  // none in kilobytes and we have one): tell it with RESPONDER-LIFETIME.
  bool lifetime_lowered = false;
};

struct Phase1Selection {
  Phase1Choice choice;
  // The proposal to send back: the peer's proposal number and SPI, the chosen transform
  // verbatim (RFC 2408 4.2).
  Proposal reply;
};

// Our phase 1 SA payload: proposal 1 (ISAKMP, no SPI) with transform n+1 for offers[n],
// attributes encryption, [key length], hash, authentication method, group, then the
// life type/duration pairs (seconds, then kilobytes; durations above 65535 variable).
SaPayload BuildPhase1Sa(absl::Span<const Phase1Offer> offers);
// Responder: the first of the peer's transforms (proposals in order, transforms in
// order) equal to one of our offers.
absl::StatusOr<Phase1Selection> SelectPhase1(const SaPayload& peer,
                                             absl::Span<const Phase1Offer> ours);
// Initiator: the reply must hold exactly one proposal with one transform equal to one of
// our offers; its lifetimes (or ours where smaller) are the SA's.
absl::StatusOr<Phase1Choice> CheckPhase1Reply(const SaPayload& reply,
                                              absl::Span<const Phase1Offer> ours);

// Names as SHOW ISAKMP SA prints them: "DES", "3DES", "AES128"; "MD5", "SHA", "SHA256";
// "PRESHARED", "RSASIG", "DSS", "XAUTH-PRESHARED-I" ...
std::string Phase1EncName(P1Encryption enc, uint16_t key_bits);
std::string Phase1HashName(P1Hash hash);
std::string AuthMethodName(AuthMethod auth);

// ---------------------------------------------------------------- lifetimes

struct Lifetimes {
  uint32_t seconds = 0;   // 0 = none given
  uint64_t kbytes = 0;
};
// The life type/duration attributes of phase 1 (types 11/12) or phase 2 (types 1/2):
// seconds first, then kilobytes, each only when non-zero. Also the data of a
// RESPONDER-LIFETIME notify (RFC 2407 4.6.3.1: the attributes the responder chose).
std::vector<Attribute> LifetimeAttributes(bool phase2, uint32_t seconds, uint64_t kbytes);
// Reads life type/duration pairs (a RESPONDER-LIFETIME notify's data, parsed with
// ParseAttributes); other attributes are ignored.
absl::StatusOr<Lifetimes> ReadLifetimes(bool phase2, absl::Span<const Attribute> attrs);

// ---------------------------------------------------------------- phase 2

// Which encapsulation-mode values an SA proposal carries.
enum class UdpEncap : uint8_t {
  kNone,       // no NAT between the peers: tunnel (1) / transport (2)
  kRfc3947,    // NAT-T, RFC 3947: UDP-Encapsulated-Tunnel (3) / -Transport (4)
  kDraft,      // NAT-T, draft-ietf-ipsec-nat-t-ike-0x: 61443 / 61444
};

struct Phase2Params {
  int pfs_group = 0;              // the policy's GROUP when USEPFSKEY; 0 = no PFS
  // How we propose (initiator). As the responder kRfc3947 and kDraft both mean "NAT-T is
  // in use" and either set of UDP values is accepted; kNone accepts only 1 and 2.
  UdpEncap udp = UdpEncap::kNone;
};

// Our SPIs (inbound: the peer sends with them), one per protocol; IPComp's CPI.
struct Phase2Spis {
  uint32_t esp = 0;
  uint32_t ah = 0;
  uint16_t cpi = 0;
};

// The SA specification with this id, or nullptr.
using SaSpecFinder = std::function<const control::SaSpec*(uint32_t id)>;
// A finder over a map (Phase2Policy::specs); the map must outlive it.
SaSpecFinder FinderFor(const std::map<uint32_t, control::SaSpec>& specs);

// One protocol of the chosen bundle.
struct Phase2SaChoice {
  control::SaProtocol protocol = control::SaProtocol::kEsp;
  uint32_t spec_id = 0;                       // the SA specification it matched
  control::EncAlg enc = control::EncAlg::kNull;
  control::HashAlg hash = control::HashAlg::kNull;
  control::CompAlg comp = control::CompAlg::kNone;
  uint16_t key_bits = 0;                      // AES key bits as negotiated
  uint32_t peer_spi = 0;                      // the peer's SPI (IPComp: its CPI)
  size_t peer_spi_size = 4;                   // 4 (ESP/AH), 2 or 4 (IPComp)
  EncapMode encap = EncapMode::kTunnel;       // as proposed (kTunnel if absent)
  bool tunnel = true;
  bool udp_encap = false;                     // one of the UDP-encapsulated modes
  uint32_t life_seconds = 0;                  // as proposed (28800 if absent)
  uint64_t life_kbytes = 0;                   // as proposed (0: none)
  Transform transform;                        // the transform as proposed, verbatim
  size_t wire_index = 0;                      // position of its proposal in the suite
};

struct Phase2Choice {
  uint8_t proposal_number = 1;
  size_t alternative = 0;                     // index into BundleString::proposals
  std::vector<Phase2SaChoice> sas;            // our apply order (IPComp, ESP, AH)
  int pfs_group = 0;
  uint32_t life_seconds = 0;                  // what the bundle uses (min of both sides)
  uint64_t life_kbytes = 0;                   // 0: no limit
  bool lifetime_lowered = false;              // responder: send RESPONDER-LIFETIME
  const Phase2SaChoice* Find(control::SaProtocol p) const;
};

// The Quick Mode SA payload for a bundle: suite n (proposal number n) for the bundle's
// n-th alternative. Each transform carries the life type/duration pairs (the bundle's
// EXPIRYSECONDS, default 28800, and EXPIRYKBYTES), the group when PFS, the encapsulation
// mode, the authentication algorithm and the AES key length. Fails when an SA
// specification is missing, MANUAL, or uses an algorithm IKEv1 cannot carry
// (3DESINNER).
absl::StatusOr<SaPayload> BuildPhase2Sa(const control::BundleSpec& bundle,
                                        const SaSpecFinder& specs, const Phase2Params& params,
                                        const Phase2Spis& spis);
// Responder: the first of the peer's suites one of our alternatives accepts.
absl::StatusOr<Phase2Choice> SelectPhase2(const SaPayload& peer,
                                          const control::BundleSpec& bundle,
                                          const SaSpecFinder& specs,
                                          const Phase2Params& params);
// Responder: the SA payload to send back: the chosen suite (the peer's proposal number
// and protocol order) with the chosen transform of each protocol verbatim and our SPI
// in each proposal (the CPI in as many bytes as the peer used).
SaPayload BuildPhase2Reply(const Phase2Choice& choice, const Phase2Spis& ours);
// Initiator: the reply's first suite must be one of our alternatives with one transform
// per protocol that we offered. Suites after the first are ignored: strongSwan answers
// ESP+IPComp with the chosen suite followed by the same ESP proposal again under the next
// number.
absl::StatusOr<Phase2Choice> CheckPhase2Reply(const SaPayload& reply,
                                              const control::BundleSpec& bundle,
                                              const SaSpecFinder& specs,
                                              const Phase2Params& params);

// KEYMAT bytes one direction of this SA needs (RFC 2409 5.5): the cipher key (AES-GCM:
// key and the 4-byte salt of RFC 4106) followed by the authentication key; 0 for IPComp.
size_t KeymatLength(const Phase2SaChoice& sa);
// The ISAKMP protocol id of an SA protocol (ESP 3, AH 2, IPCOMP 4).
ProtocolId ProtocolIdOf(control::SaProtocol p);

}  // namespace arsec::ike
