// The routing model the main lcore keeps: interface addresses, static routes, and which
// candidate wins for each prefix. It is plain C++ (no DPDK) so that unit tests can drive
// it; the winning next hop of every prefix is pushed into a FibSink, which in the
// dataplane is the RCU-protected rte_lpm the workers read (fib.h).
//
// Each prefix can have several candidates: the local /32 of an address, the connected
// subnet of an address, and static routes. Local beats connected beats static; among
// statics the lowest metric wins, then the oldest. Deleting the winner promotes the next.
//
// Reconciliation after a control-process restart is mark & sweep: SyncBegin opens a new
// generation, every Add of an identical entry re-marks it (a no-op otherwise), SyncEnd
// removes whatever was not re-asserted. Forwarding never stops in between.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <vector>

namespace arsec::dp {

enum class NhType : uint8_t { kLocal = 1, kConnected = 2, kVia = 3 };

// What a prefix resolves to: delivered locally, ARP for the destination itself on a
// port, or forward to a gateway on a port. Ports are DPDK ethdev port ids.
struct NhKey {
  NhType type;
  uint16_t port;
  uint32_t gw;  // host order; 0 unless kVia
  friend bool operator==(const NhKey& a, const NhKey& b) {
    return a.type == b.type && a.port == b.port && a.gw == b.gw;
  }
  friend bool operator<(const NhKey& a, const NhKey& b) {
    return std::tie(a.type, a.port, a.gw) < std::tie(b.type, b.port, b.gw);
  }
};

class FibSink {
 public:
  virtual ~FibSink() = default;
  // Install or replace the next hop of prefix/len. Returns 0 or -errno.
  virtual int Set(uint32_t prefix, uint8_t len, const NhKey& nh) = 0;
  virtual int Clear(uint32_t prefix, uint8_t len) = 0;
};

struct Result {
  int code = 0;           // 0 or -errno
  std::string reason;     // why, when code != 0
  static Result Ok() { return {}; }
  static Result Err(int c, std::string r) { return {c, std::move(r)}; }
  bool ok() const { return code == 0; }
};

inline uint32_t MaskOf(uint8_t len) { return len == 0 ? 0 : ~0u << (32 - len); }

class RouteTable {
 public:
  explicit RouteTable(FibSink* sink) : sink_(sink) {}

  struct Addr {
    std::string ifname;
    uint16_t port;
    uint32_t addr;
    uint8_t len;
    uint64_t gen;
  };
  struct Static {
    uint32_t prefix;
    uint8_t len;
    uint32_t nexthop;
    uint16_t port;
    std::string ifname;
    uint32_t metric;
    uint64_t gen;
    uint64_t order;
  };
  struct RouteView {  // for SHOW-like dumps and tests
    uint32_t prefix;
    uint8_t len;
    NhKey nh;
    const char* source;  // "local", "connected", "static"
  };

  Result AddAddr(const std::string& ifname, uint16_t port, uint32_t addr, uint8_t len);
  Result DelAddr(const std::string& ifname, uint16_t port, uint32_t addr, uint8_t len);
  Result AddRoute(uint32_t prefix, uint8_t len, uint32_t nexthop, uint16_t port,
                  const std::string& ifname, uint32_t metric);
  Result DelRoute(uint32_t prefix, uint8_t len, uint32_t nexthop);

  void SyncBegin();
  // Removes everything not re-asserted since SyncBegin; returns how many entries went.
  unsigned SyncEnd();
  bool syncing() const { return syncing_; }

  // The address a port uses as source for ICMP errors and ARP requests: the first
  // numbered address on it whose subnet holds `toward` if any, else the first one.
  uint32_t SourceFor(uint16_t port, uint32_t toward) const;
  bool IsLocal(uint32_t ip) const;

  const std::vector<Addr>& addrs() const { return addrs_; }
  const std::vector<Static>& statics() const { return statics_; }
  std::vector<RouteView> Routes() const;  // the winners, by prefix

 private:
  enum Source : uint8_t { kSrcLocal = 0, kSrcConnected = 1, kSrcStatic = 2 };
  struct Cand {
    Source src;
    NhKey nh;
    uint32_t metric;
    uint64_t order;
    std::string owner;  // ifname for local/connected, "" for static (matched by nexthop)
  };
  using PKey = std::pair<uint32_t, uint8_t>;

  void AddCand(PKey k, Cand c);
  void DelCand(PKey k, Source src, const std::string& owner, const NhKey& nh);
  void Reinstall(PKey k);
  static bool Better(const Cand& a, const Cand& b);

  FibSink* sink_;
  std::vector<Addr> addrs_;
  std::vector<Static> statics_;
  std::map<PKey, std::vector<Cand>> cands_;
  std::map<PKey, NhKey> installed_;
  uint64_t gen_ = 0;
  uint64_t order_ = 0;
  bool syncing_ = false;
};

}  // namespace arsec::dp
