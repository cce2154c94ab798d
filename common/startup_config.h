// The startup config (libconfig syntax), read by arsec-dataplane and arsec-control alike.
//
// Schema (DESIGN.md "Startup config"): eal, ports, workers, crypto, control, plus the
// optional tuning groups documented in docs/user-guide.md. Unknown keys and bad values
// are errors that name the file and line; nothing is silently ignored.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace arsec {

struct PortConfig {
  std::string name;    // AR-style interface name the CLI uses ("vlan1", "ppp0")
  std::string device;  // DPDK vdev string or PCI address
  uint16_t mtu = 1500;
};

struct StartupConfig {
  std::string source = "<built-in default>";  // file name, or the built-in default

  // eal
  std::string eal_lcores = "0,1";
  std::string file_prefix = "arsec";
  std::vector<std::string> eal_args;

  std::vector<PortConfig> ports;

  // workers
  std::vector<unsigned> worker_lcores = {1};
  unsigned burst = 32;

  // crypto
  std::string crypto_engine = "auto";

  // control
  std::string control_socket = "/run/arsec/arsec.sock";
  std::string boot_config = "/etc/arsec/boot.cfg";
  std::string control_lcores = "0";   // EAL lcores of the arsec-control secondary

  // neighbour (ARP) table
  unsigned arp_reachable_s = 300;     // a confirmed entry ages out after this
  unsigned arp_retry_ms = 1000;       // resend an unanswered request after this
  unsigned arp_max_retries = 3;       // then the entry is FAILED and its queue dropped
  unsigned arp_table_size = 4096;

  // buffers
  unsigned mbufs = 16383;
  unsigned rx_desc = 1024;
  unsigned tx_desc = 1024;
};

// The configuration used when no --config is given: needs no NIC (see the .cc for the
// ports it creates).
StartupConfig BuiltinStartupConfig();

// Parses `text` as if read from `source_name` (used in error messages).
absl::StatusOr<StartupConfig> ParseStartupConfig(const std::string& text,
                                                 const std::string& source_name);
absl::StatusOr<StartupConfig> LoadStartupConfig(const std::string& path);

}  // namespace arsec
