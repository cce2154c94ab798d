// ike_ring_probe: RingTransport in a DPDK secondary process of its own, for the
// integration test of the IKE path (tests/integration/test_ike_path.py) until the IKE
// daemon in arsec-control uses the rings itself.
//
//   ike_ring_probe FILE_PREFIX WAIT_MS [SRC DST SPORT DPORT HEX]...
//
// Sends each datagram given (addresses dotted, SRC 0.0.0.0 = let the dataplane choose;
// HEX the ISAKMP message, "ka" for a NAT-T keepalive), then prints every datagram
// received within WAIT_MS as "src:sport > dst:dport hex", one per line. Exit status 0,
// or 1 with a message when the EAL, the rings or a send failed.
#include <arpa/inet.h>
#include <rte_eal.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/escaping.h"
#include "absl/time/clock.h"
#include "control/ike/ring_transport.h"

namespace {

bool Ip(const char* s, uint32_t* out) {
  in_addr a{};
  if (inet_pton(AF_INET, s, &a) != 1) return false;
  *out = ntohl(a.s_addr);
  return true;
}

std::string Dotted(uint32_t a) {
  return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 255) + "." +
         std::to_string((a >> 8) & 255) + "." + std::to_string(a & 255);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3 || (argc - 3) % 5 != 0) {
    std::fprintf(stderr, "usage: %s FILE_PREFIX WAIT_MS [SRC DST SPORT DPORT HEX]...\n", argv[0]);
    return 1;
  }
  std::vector<std::string> args = {"ike_ring_probe", "--proc-type=secondary", "--file-prefix",
                                   argv[1], "-l", "0", "--no-pci", "--no-telemetry",
                                   "--log-level=lib.eal:error"};
  std::vector<char*> eal;
  for (auto& a : args) eal.push_back(a.data());
  if (rte_eal_init(static_cast<int>(eal.size()), eal.data()) < 0) {
    std::fprintf(stderr, "ike_ring_probe: EAL (secondary of %s) did not start\n", argv[1]);
    return 1;
  }
  int rc = 0;
  {
    auto t = arsec::ike::RingTransport::Attach(absl::Seconds(5));
    if (!t.ok()) {
      std::fprintf(stderr, "ike_ring_probe: %s\n", std::string(t.status().message()).c_str());
      rte_eal_cleanup();
      return 1;
    }
    int wait_ms = std::atoi(argv[2]);
    for (int i = 3; i + 4 < argc; i += 5) {
      arsec::ike::Datagram d;
      uint32_t sport = 0, dport = 0;
      if (!Ip(argv[i], &d.src) || !Ip(argv[i + 1], &d.dst) || !absl::SimpleAtoi(argv[i + 2], &sport) ||
          !absl::SimpleAtoi(argv[i + 3], &dport)) {
        std::fprintf(stderr, "ike_ring_probe: bad datagram spec at argument %d\n", i);
        rc = 1;
        break;
      }
      d.sport = static_cast<uint16_t>(sport);
      d.dport = static_cast<uint16_t>(dport);
      const std::string hex = argv[i + 4];
      if (hex == "ka") {
        d.keepalive = true;
      } else {
        const std::string bytes = absl::HexStringToBytes(hex);
        d.data.assign(bytes.begin(), bytes.end());
      }
      absl::Status st = (*t)->Send(d);
      if (!st.ok()) {
        std::fprintf(stderr, "ike_ring_probe: send: %s\n", std::string(st.message()).c_str());
        rc = 1;
      }
    }
    const absl::Time end = absl::Now() + absl::Milliseconds(wait_ms);
    while (absl::Now() < end) {
      (*t)->Wait(static_cast<int>(absl::ToInt64Milliseconds(end - absl::Now())) + 1);
      std::vector<arsec::ike::Datagram> got;
      (*t)->Receive(got, 64);
      for (const auto& g : got) {
        std::printf("%s:%u > %s:%u %s\n", Dotted(g.src).c_str(), g.sport, Dotted(g.dst).c_str(),
                    g.dport, absl::BytesToHexString(std::string(g.data.begin(), g.data.end())).c_str());
      }
      std::fflush(stdout);
    }
    std::printf("keepalives %lu bad %lu\n",
                static_cast<unsigned long>((*t)->stats().rx_keepalive.load()),
                static_cast<unsigned long>((*t)->stats().rx_bad.load()));
  }
  rte_eal_cleanup();
  return rc;
}
