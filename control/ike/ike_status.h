// What the IKE daemon reports to the CLI: the rows of SHOW ISAKMP SA, SHOW ISAKMP
// EXCHANGE and SHOW ISAKMP COUNTERS, as plain data (a snapshot taken under the daemon's
// lock). isakmp_show.h formats them the way the seed prints them.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace arsec::ike {

// One ISAKMP (phase 1) SA: "SA Id PeerAddress EncA. HashA. Bytes Seconds" with the
// expiry limits hard/soft/used ("-" where there is no limit).
struct IsakmpSaInfo {
  uint32_t id = 0;
  uint32_t peer = 0;                // host order
  uint16_t peer_port = 500;
  uint32_t local = 0;
  std::string policy;               // ISAKMP policy name
  std::string encalg;               // "DES", "3DES", "AES128", ...
  std::string hashalg;              // "MD5", "SHA", "SHA256", ...
  std::string mode;                 // "MAIN" / "AGGRESSIVE"
  std::string auth;                 // "PRESHARED" / "RSASIG"
  int group = 1;                    // MODP group
  uint64_t hard_kbytes = 0, soft_kbytes = 0, used_bytes = 0;   // 0 limit = none
  uint32_t hard_seconds = 0, soft_seconds = 0, used_seconds = 0;
  std::string local_id, remote_id;  // printable identities
  bool nat_t = false;               // floated to 4500
  bool local_behind_nat = false, peer_behind_nat = false;
  bool dpd = false;                 // peer supports RFC 3706
  std::string xauth;                // "", "SERVER ok user1", "CLIENT ok"
  std::string state;                // "ESTABLISHED", "EXPIRING", "DELETED"
  uint64_t icookie = 0, rcookie = 0;
};

// One exchange in progress: "Id Phase State PeerAddress Type".
struct ExchangeInfo {
  uint32_t id = 0;
  int phase = 1;                    // 1, 2 (quick), or 4 as the seed shows for quick mode
  std::string state;                // "WAIT_HASH_SA_NONCE", "WAIT_SA", ...
  uint32_t peer = 0;
  std::string type;                 // "MAIN", "AGGRESSIVE", "QUICK", "INFO", "XAUTH"
  bool initiator = true;
  uint32_t retransmits = 0;
};

// Named counters in groups: "GENERAL", "MAIN", "AGGRESSIVE", "QUICK", "INFO", "XAUTH",
// "NATT", "DPD". Each group keeps its counters in a fixed order.
struct CounterGroup {
  std::string name;
  std::vector<std::pair<std::string, uint64_t>> values;
};
struct IsakmpCounters {
  std::vector<CounterGroup> groups;
};

}  // namespace arsec::ike
