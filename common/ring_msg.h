// The ring message schema between arsec-control and arsec-dataplane.
//
// Plain, fixed-size, trivially copyable structs: they live in a DPDK mempool shared by
// two processes, so they hold no pointers and no C++ objects. Every request carries a
// sequence number; the dataplane answers each request with the same message buffer on
// the reply ring (result = 0 or a negative errno, plus a short reason) so the CLI can
// report failure honestly. Dumps (ARP, ports) are paged: the request names a start
// index, the reply fills up to kMaxEntries and says where to continue.
#pragma once

#include <cstdint>
#include <type_traits>

namespace arsec::msg {

inline constexpr uint32_t kSchemaVersion = 1;
inline constexpr unsigned kIfNameLen = 16;     // "ppp0-1", "vlan1-0", NUL-terminated
inline constexpr unsigned kReasonLen = 96;
inline constexpr unsigned kMaxEntries = 32;

enum class Type : uint16_t {
  // control -> dataplane (each answered on the reply ring)
  kHello = 1,          // handshake: schema version, dataplane generation/epoch
  kSyncBegin,          // a (new) control process is about to replay its configuration
  kSyncEnd,            // replay done: the dataplane drops state not re-asserted since SyncBegin
  kAddrAdd,            // body.addr
  kAddrDel,            // body.addr
  kRouteAdd,           // body.route
  kRouteDel,           // body.route
  kArpDump,            // body.dump  -> reply body.arp
  kPortDump,           // body.dump  -> reply body.ports
  kCountersReset,      // zero the dataplane counters
  kNeighAdd,           // body.arp_entry: static neighbour (never ages; e.g. a traffic generator)
  kNeighDel,           // body.arp_entry: remove a neighbour (static or learnt)
  // dataplane -> control (event ring, not answered)
  kEvtNeighbour = 0x100,  // body.neigh: resolved, changed or failed
  kEvtPunt,               // body.punt: a packet to an own address nobody handles
  kEvtLink,               // body.link: port link state change
};

// An address on a logical interface. ifname is the AR name ("ppp0-1"); port is resolved
// by the control plane from the startup config's port list (ifname's base, "ppp0").
struct AddrBody {
  char ifname[kIfNameLen];
  uint16_t port;
  uint8_t prefix_len;       // from MASK; 32 = host
  uint8_t pad;
  uint32_t addr;            // host byte order
};

struct RouteBody {
  char ifname[kIfNameLen];
  uint16_t port;
  uint8_t prefix_len;
  uint8_t pad;
  uint32_t prefix;          // host byte order
  uint32_t nexthop;         // 0 = directly connected (ARP for the destination itself)
  uint32_t metric;
};

struct DumpBody {
  uint32_t start;           // index to start from
};

struct ArpEntry {
  uint32_t ip;              // host byte order
  uint8_t mac[6];
  uint16_t port;
  uint8_t state;            // NeighState
  uint8_t pad[3];
  uint32_t age_s;           // seconds since last confirmation
  uint32_t expires_s;       // seconds until it ages out (0 for static)
};

enum NeighState : uint8_t { kNeighIncomplete = 0, kNeighReachable = 1, kNeighStale = 2, kNeighFailed = 3 };

struct ArpPage {
  uint32_t count;
  uint32_t next;            // index to ask for next, or 0 when complete
  ArpEntry entries[kMaxEntries];
};

struct PortEntry {
  char name[kIfNameLen];    // from the startup config ("ppp0")
  char device[48];          // vdev string or PCI address, truncated
  uint16_t port;
  uint8_t mac[6];
  uint8_t link_up;
  uint8_t pad;
  uint32_t speed_mbps;
  uint16_t mtu;
  uint16_t pad2;
  uint64_t rx_packets, tx_packets, rx_bytes, tx_bytes, rx_missed, rx_errors, tx_errors;
};

struct PortPage {
  uint32_t count;
  uint32_t next;
  PortEntry entries[8];
};

struct HelloBody {
  uint32_t schema;          // kSchemaVersion, both ways
  uint32_t dp_pid;          // dataplane's pid
  uint64_t dp_epoch;        // TSC-based start stamp: changes when the dataplane restarts
  uint32_t control_gen;     // how many control processes have synced with this dataplane
  uint32_t n_workers;
};

struct NeighEvent {
  uint32_t ip;
  uint8_t mac[6];
  uint16_t port;
  uint8_t state;            // NeighState
};

struct PuntEvent {
  uint16_t port;
  uint16_t len;             // bytes captured in data
  uint32_t src, dst;        // host byte order
  uint8_t proto;
  uint8_t pad[3];
  uint8_t data[128];        // the packet's first bytes from the IPv4 header on
};

struct LinkEvent {
  uint16_t port;
  uint8_t up;
  uint8_t pad;
  uint32_t speed_mbps;
};

struct Message {
  uint32_t seq;             // chosen by the requester, echoed in the reply
  Type type;
  uint16_t flags;
  int32_t result;           // 0 = done, negative errno otherwise (set by the dataplane)
  char reason[kReasonLen];  // human-readable failure reason, NUL-terminated
  union {
    HelloBody hello;
    AddrBody addr;
    RouteBody route;
    DumpBody dump;
    ArpPage arp;
    PortPage ports;
    NeighEvent neigh;
    PuntEvent punt;
    LinkEvent link;
    ArpEntry arp_entry;     // kNeighAdd / kNeighDel (ip, mac, port)
  } body;
};

static_assert(std::is_trivially_copyable_v<Message>);
static_assert(sizeof(Message) <= 2048, "messages are pool elements; keep them small");

}  // namespace arsec::msg
