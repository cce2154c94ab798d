// ENABLE IPSEC POLICY=name DEBUG=PACKET: the console dump of a packet before and after a
// policy's IPsec processing, in the seed's layout:
//
//   IPSEC vpn: 2: OUT: post processing:
//   IP: 450000604b7f00004032fa573f0c42ef01010101
//   ESP: 14f45fa300000b09:35d26e02458706623d9aa9bf
//   data: 9fcd18d0a34ffeecb8b0f574ddeaa820f8ba0db36cd7a9fc0254f08215e2aa7ecdb34688
//   6193f17d39cc7f096276238bf262b668920b51c535d26e02458706623d9aa9bf
//
// The header line names the policy, the SHOW IPSEC SA id, the direction and the stage.
// Then one line per header, in hex: the IPv4 header, then the next header by protocol
// (TCP by its data offset, UDP and ICMP 8 bytes, AH by its length field, IPComp 4, an
// inner IPv4 header after AH in tunnel mode), and "data:" with the rest of the captured
// bytes, 36 bytes (72 hex digits) a line. ESP shows SPI and sequence number, then ':' and
// the ICV: the seed's example is DES + HMAC-96, where the 12 bytes after the colon are the
// packet's last 12 bytes (they appear again at the end of data, which is everything after
// the ESP header). The ICV length comes from the SA the SPI names; when it is unknown or
// the capture (kDebugBytes) ends before the packet does, nothing follows the colon's place.
// ESP in UDP (NAT-T, the seed's ESP-over-UDP) is shown as UDP then ESP when the policy's
// SA uses that encapsulation.
//
// Pure: the packet bytes and what the model says about the policy's SAs in, text out.
// Keys never reach here (the event and DebugPolicy hold none).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/ring_msg.h"
#include "control/ipsec/ipsec_types.h"

namespace arsec::control {

class IpsecModel;

// One SA pair of the policy, as far as the decoder needs it.
struct DebugSa {
  uint32_t show_id = 0;
  SaProtocol protocol = SaProtocol::kEsp;
  uint32_t out_spi = 0, in_spi = 0;
  unsigned icv_len = 0;      // ESP: ICV bytes at the packet's end (0 = none)
  bool udp_encap = false;    // ESP carried in UDP (msg::SaEncap != none)
};

struct DebugPolicy {
  std::string name;
  std::vector<DebugSa> sas;
};

// The ICV length the dataplane uses for an ESP SA (RFC 2403/2404/4868 truncations,
// RFC 4106 GCM 16 bytes).
unsigned EspIcvLength(EncAlg enc, HashAlg hash);

// What the model knows of policy `policy_id`'s current SAs; nullopt if no such policy.
std::optional<DebugPolicy> DescribePolicyForDebug(const IpsecModel& m, uint32_t policy_id);

// The dump of one kEvtIpsecDebug event, every line ending in '\n'.
std::string FormatIpsecDebug(const msg::IpsecDebugEvent& e, const DebugPolicy& p);

// "data:" and the hex of `bytes` wrapped at 36 bytes a line (the seed's data lines).
std::string FormatDebugData(const uint8_t* bytes, size_t n);

}  // namespace arsec::control
