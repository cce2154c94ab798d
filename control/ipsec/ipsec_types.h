// The IPsec configuration objects of arsec-control (SA specifications, bundle
// specifications, policies) and the algorithm tables they use, as plain data.
//
// Policies keep their parameters the way the command language stored them (canonical
// parameter name -> value), merged by SET IPSEC POLICY, so every parameter the table
// declares (ISAKMP ones included, for the IKE side) survives CREATE CONFIG unchanged;
// PolicyView is the typed, validated reading of one policy that the SA builder and the
// SPD use. SA and bundle specifications are created once and never changed, so they are
// typed from the start.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "cli/lang/bundle_string.h"

namespace arsec::control {

using lang::KeyManagement;
using lang::SaProtocol;

enum class PolicyAction : uint8_t { kPermit = 1, kDeny = 2, kIpsec = 3 };  // = dp::SpdAction

// ENCALG / HASHALG / COMPALG keywords of the command table.
enum class EncAlg : uint8_t {
  kNull, kDes, k3DesOuter, k3DesInner, kAes128, kAes192, kAes256, kAes128Gcm, kAes256Gcm
};
enum class HashAlg : uint8_t { kNull, kMd5, kSha, kSha256, kSha384, kSha512 };
enum class CompAlg : uint8_t { kNone, kLzs, kDeflate };

std::optional<EncAlg> EncAlgFromKeyword(absl::string_view kw);
std::optional<HashAlg> HashAlgFromKeyword(absl::string_view kw);
std::optional<CompAlg> CompAlgFromKeyword(absl::string_view kw);
absl::string_view EncAlgName(EncAlg a);    // the keyword: "DES", "3DESOUTER", "AES128GCM"
absl::string_view HashAlgName(HashAlg a);  // "NULL", "MD5", "SHA", "SHA256"
absl::string_view CompAlgName(CompAlg a);  // "-", "LZS", "DEFLATE"
bool IsGcm(EncAlg a);
// Key bytes a manual SA needs (GCM: key || 4-byte salt); 0 for NULL.
size_t EncKeyLength(EncAlg a);
size_t HashKeyLength(HashAlg a);
// The dataplane's crypto::CipherAlg / crypto::AuthAlg / compress::IpcompAlg values.
uint8_t CipherWire(EncAlg a);
uint8_t AuthWire(HashAlg a);
uint8_t CompWire(CompAlg a);
uint8_t ProtocolNumber(SaProtocol p);   // 50 ESP, 51 AH, 108 IPComp

inline constexpr uint16_t kDefaultUdpPort = 2746;
inline constexpr uint32_t kDefaultReplayWindow = 64;

struct SaSpec {
  uint32_t id = 0;
  KeyManagement keyman = KeyManagement::kIsakmp;
  SaProtocol protocol = SaProtocol::kEsp;
  bool tunnel = true;                        // MODE
  std::optional<EncAlg> encalg;              // ESP
  std::optional<HashAlg> hashalg;            // ESP, AH
  CompAlg compalg = CompAlg::kNone;          // COMP
  std::optional<uint32_t> enckey, hashkey;   // MANUAL: ENCO key numbers
  uint32_t inspi = 0, outspi = 0;            // MANUAL ESP/AH
  std::optional<bool> antireplay;            // ANTIREPLAYENABLED as given
  std::optional<uint32_t> replay_window;     // REPLAYWINDOWSIZE as given

  // Unless ANTIREPLAYENABLED or REPLAYWINDOWSIZE says otherwise, anti-replay is on for
  // ISAKMP SAs and off for MANUAL ones: RFC 4303 section 3.3.3 says a manually keyed SA
  // SHOULD NOT use it, since its sender's counter restarts at 1 when it reboots and the
  // peer's window would then drop everything (RFC 4301 section 4.5 likewise).
  bool antireplay_on() const {
    if (antireplay) return *antireplay;
    return replay_window.has_value() || keyman == KeyManagement::kIsakmp;
  }
  uint32_t window() const { return replay_window.value_or(kDefaultReplayWindow); }
};

struct BundleSpec {
  uint32_t id = 0;
  KeyManagement keyman = KeyManagement::kIsakmp;
  lang::BundleString bundle;                 // parsed STRING
  std::string text;                          // canonical STRING
  std::optional<uint32_t> expiry_seconds, expiry_kbytes;
};

struct Policy {
  std::string name;                          // as created
  uint32_t id = 0;                           // stable: the SPD result and dataplane id
  uint16_t port = 0;                         // dataplane port of INTERFACE's base
  std::map<std::string, std::string> params; // canonical name -> stored value
  uint8_t debug = 0;                         // DEBUG bits (not configuration)
  // ACTION=IPSEC KEYMANAGEMENT=ISAKMP, i.e. of interest to IKE; set by IpsecModel from
  // the policy's view whenever its parameters change, so that the IKE configuration
  // (rebuilt after every IPsec command) skips the others without parsing them.
  bool ike_keyed = false;

  bool Has(absl::string_view p) const { return params.count(std::string(p)) != 0; }
  std::string Get(absl::string_view p) const {
    auto it = params.find(std::string(p));
    return it == params.end() ? std::string() : it->second;
  }
};

// A policy's parameters, typed and checked (IpsecModel::View).
struct PolicyView {
  std::string ifname;
  uint16_t port = 0;
  PolicyAction action = PolicyAction::kDeny;
  std::optional<uint32_t> bundle;
  KeyManagement keyman = KeyManagement::kIsakmp;
  uint32_t peer = 0;                         // 0 with peer_dynamic or no peer
  bool peer_dynamic = false;                 // PEERADDRESS=DYNAMIC|ANY
  uint32_t laddr = 0, lmask = 0, raddr = 0, rmask = 0;   // mask 0 = any
  int16_t proto = -1;                        // -1 any
  uint16_t lport_lo = 0, lport_hi = 0xffff, rport_lo = 0, rport_hi = 0xffff;
  bool udptunnel = false, udpheartbeat = false;
  uint16_t udpport = kDefaultUdpPort;        // the peer's ESP-over-UDP port
  uint8_t dfbit = 0;                         // msg::SaDfBit
};

// DEBUG keyword -> PolicyBody.debug bits (FILTER 1, PACKET 2, TRACE 4, ALL 7).
uint8_t DebugBits(absl::string_view kw);

}  // namespace arsec::control
