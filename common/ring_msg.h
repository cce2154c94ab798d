// The ring message schema between arsec-control and arsec-dataplane.
//
// Plain, fixed-size, trivially copyable structs: they live in a DPDK mempool shared by
// two processes, so they hold no pointers and no C++ objects. Every request carries a
// sequence number; the dataplane answers each request with the same message buffer on
// the reply ring (result = 0 or a negative errno, plus a short reason) so the CLI can
// report failure honestly. Dumps (ARP, ports, SAs) are paged: the request names a start
// index, the reply fills up to kMaxEntries and says where to continue.
#pragma once

#include <cstdint>
#include <type_traits>

namespace arsec::msg {

inline constexpr uint32_t kSchemaVersion = 2;
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
  // IPsec (docs/ipsec.md). SAs and policies are addressed by ids the control plane
  // chooses (the "SA Id" of SHOW IPSEC SA; a policy's index). A policy's SPD rules and
  // its dataplane state are separate: the SPD is rebuilt whole (rte_acl compiles whole
  // tries) by SpdBegin / SpdRules... / SpdCommit, and swapped in with RCU at the commit.
  kIpsecGlobal,        // body.ipsec_global: module on/off, ESP-over-UDP port
  kSaAdd,              // body.sa: install or replace one SA (keys inside: wipe after use)
  kSaDel,              // body.sa_ref
  kPolicySet,          // body.policy: install or replace a policy's dataplane state
  kPolicyDel,          // body.policy_ref
  kSpdBegin,           // body.spd_begin: start staging a new SPD of n_rules rules
  kSpdRules,           // body.spd_rules: the next rules, in creation order
  kSpdCommit,          // compile the staged SPD, swap it in (reply: compile errors)
  // A restarted control plane adopts the negotiated SAs it cannot re-send (it has no
  // keys): it dumps what the dataplane holds, then re-asserts the ones it keeps.
  kSaDump,             // body.dump (start = SA id) -> reply body.sa_page (never key bytes)
  kSaKeep,             // body.sa_keep: between SyncBegin and SyncEnd, keep this SA as it is
  // dataplane -> control (event ring, not answered)
  kEvtNeighbour = 0x100,  // body.neigh: resolved, changed or failed
  kEvtPunt,               // body.punt: a packet to an own address nobody handles
  kEvtLink,               // body.link: port link state change
  kEvtSaExpiry,           // body.sa_expiry: an SA passed its soft or hard lifetime
  kEvtAcquire,            // body.acquire: traffic hit an IPSEC policy that has no SA
  kEvtIpsecDebug,         // body.ipsec_debug: a packet before/after IPsec (POLICY DEBUG=PACKET)
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

// ---- IPsec ----
inline constexpr unsigned kPolicyNameLen = 36;  // the CLI allows 32 characters
inline constexpr unsigned kMaxCipherKey = 36;   // AES-256 + 4-byte GCM salt
inline constexpr unsigned kMaxAuthKey = 64;     // HMAC-SHA-512 natural key length
inline constexpr unsigned kMaxBundle = 3;       // IPComp, ESP, AH
inline constexpr unsigned kMaxSpdRulesPerMsg = 32;
inline constexpr uint32_t kNoSa = 0xffffffffu;

struct IpsecGlobalBody {
  uint8_t enabled;          // ENABLE/DISABLE IPSEC: disabled = no SPD, no IPsec input
  uint8_t pad;
  uint16_t udp_port;        // SET IPSEC UDPPORT (ESP-over-UDP, default 2746)
};

enum SaDir : uint8_t { kSaOutbound = 0, kSaInbound = 1 };
enum SaMode : uint8_t { kSaTunnel = 0, kSaTransport = 1 };
enum SaEncap : uint8_t { kEncapNone = 0, kEncapNatT = 1 /* RFC 3948 */, kEncapEspUdp = 2 /* seed */ };
enum SaDfBit : uint8_t { kDfCopy = 0, kDfSet = 1, kDfClear = 2 };

struct SaBody {
  uint32_t sa_id;           // < the dataplane's SA capacity
  uint32_t policy_id;       // the policy whose bundle this SA belongs to
  uint32_t spi;             // host order; the CPI for IPComp
  uint8_t dir;              // SaDir
  uint8_t proto;            // 50 ESP, 51 AH, 108 IPComp
  uint8_t mode;             // SaMode
  uint8_t cipher;           // crypto::CipherAlg (ESP)
  uint8_t auth;             // crypto::AuthAlg (ESP, AH)
  uint8_t comp;             // compress::IpcompAlg (IPComp)
  uint8_t esn;              // extended sequence numbers
  uint8_t antireplay;       // inbound anti-replay check on
  uint16_t replay_window;   // packets (32..4096)
  uint8_t encap;            // SaEncap (outermost SA of a bundle only)
  uint8_t dfbit;            // SaDfBit (tunnel mode outer header)
  uint8_t cipher_key_len;
  uint8_t auth_key_len;
  uint16_t encap_sport, encap_dport;  // host order, with encap
  uint32_t tun_src, tun_dst;  // host order: the outer header of a tunnel (outbound: ours ->
                              // peer; inbound: peer -> ours; 0 = do not check)
  uint32_t soft_seconds, hard_seconds;  // 0 = no limit; counted from install
  uint64_t soft_kbytes, hard_kbytes;    // 0 = no limit; payload bytes / 1024
  uint8_t cipher_key[kMaxCipherKey];
  uint8_t auth_key[kMaxAuthKey];
};

struct SaRefBody {
  uint32_t sa_id;
};

// One SA as kSaDump shows it: what it is and how far its lifetimes have run, never its
// keys. The policy fields are the dataplane's policy `policy_id` as it is now.
struct SaDumpEntry {
  uint32_t sa_id;
  uint32_t policy_id;
  uint32_t spi;             // host order; the CPI for IPComp
  uint8_t dir;              // SaDir
  uint8_t proto;            // 50, 51, 108
  uint8_t mode;             // SaMode
  uint8_t cipher;           // crypto::CipherAlg (ESP)
  uint8_t auth;             // crypto::AuthAlg (ESP, AH)
  uint8_t comp;             // compress::IpcompAlg (IPComp)
  uint8_t esn;
  uint8_t antireplay;
  uint16_t replay_window;
  uint8_t encap;            // SaEncap
  uint8_t dfbit;            // SaDfBit
  uint16_t encap_sport, encap_dport;
  uint8_t state;            // as shm::SaRuntime: 1 valid, 2 soft lifetime passed
  uint8_t policy_isakmp;    // the policy exists and is KEYMAN=ISAKMP
  uint8_t bundle_pos;       // position in the policy's current bundle; kNotInBundle if none
  uint8_t pad;
  uint32_t tun_src, tun_dst;
  uint32_t soft_seconds, hard_seconds;  // as installed (0 = no limit)
  uint64_t soft_kbytes, hard_kbytes;
  uint64_t bytes;           // payload bytes so far
  uint32_t age_s;           // seconds since install
  char policy_name[kPolicyNameLen];  // the policy's name ("" when it has none)
};

inline constexpr uint8_t kNotInBundle = 0xff;
inline constexpr unsigned kSaDumpEntries = 16;
struct SaPage {
  uint32_t count;
  uint32_t next;            // SA id to ask for next, or 0 when complete
  SaDumpEntry entries[kSaDumpEntries];
};

// kSaKeep: a new control process re-asserts an SA it did not re-send, optionally
// renumbering the policy it belongs to (its policy ids may differ from the old process's).
struct SaKeepBody {
  uint32_t sa_id;
  uint32_t policy_id;       // the SA's policy from now on; kNoSa = unchanged
};

// A policy as the workers see it. SPD results name the policy id; the policy names its
// SA bundle: out_sa in the order the bundle string gives (IPComp, then ESP, then AH),
// applied first to last outbound; in_sa the same SAs' inbound twins, same order, peeled
// last to first. n_out == 0 on an IPSEC policy: no SA yet (dropped, counted, acquire).
struct PolicyBody {
  uint32_t policy_id;
  uint16_t port;            // dataplane port of the policy's interface
  uint8_t action;           // 1 PERMIT, 2 DENY, 3 IPSEC (dp::SpdAction)
  uint8_t n_out, n_in;
  uint8_t debug;            // DEBUG bits: 1 FILTER, 2 PACKET, 4 TRACE
  uint8_t udp_heartbeat;    // send the 30-second UDP heartbeat to peer:udp_port
  uint8_t isakmp;           // KEYMAN=ISAKMP: raise acquire events when no SA
  uint32_t out_sa[kMaxBundle];
  uint32_t in_sa[kMaxBundle];
  uint32_t peer;            // host order; 0 = DYNAMIC/none
  uint32_t local;           // host order; heartbeat source (0 = the port's address)
  uint16_t udp_port;        // peer's ESP-over-UDP port (heartbeat destination)
  uint16_t pad;
  char name[kPolicyNameLen];
};

struct PolicyRefBody {
  uint32_t policy_id;
};

// One SPD rule, as dp::SpdRule (dataplane/ipsec/spd.h): addresses and masks host order,
// mask 0 = any; proto -1 = any; port ranges inclusive.
struct SpdRuleWire {
  uint32_t policy_id;
  uint16_t port;            // interface
  uint8_t action;           // dp::SpdAction
  uint8_t pad;
  uint32_t laddr, lmask, raddr, rmask;
  int16_t proto;
  uint16_t lport_lo, lport_hi, rport_lo, rport_hi;
  uint16_t pad2;
};

struct SpdBeginBody {
  uint32_t n_rules;         // rules that will follow (checked at commit)
};

struct SpdRulesBody {
  uint32_t count;
  SpdRuleWire rules[kMaxSpdRulesPerMsg];
};

struct SaExpiryEvent {
  uint32_t sa_id;
  uint32_t policy_id;
  uint8_t hard;             // 0 soft (rekey now), 1 hard (the SA was removed)
  uint8_t by_bytes;         // 1 the kilobyte limit, 0 the seconds limit
  uint8_t pad[2];
  uint64_t bytes;           // payload bytes processed so far
  uint32_t age_s;
};

struct AcquireEvent {
  uint32_t policy_id;
  uint32_t src, dst;        // host order: the packet that triggered it
  uint8_t proto;
  uint8_t pad;
  uint16_t sport, dport;
};

// ENABLE IPSEC POLICY=name DEBUG=PACKET: the first bytes of a packet before and after
// the policy's processing (the seed's "pre processing" / "post processing" dumps).
inline constexpr uint8_t kPolicyDebugFilter = 1;
inline constexpr uint8_t kPolicyDebugPacket = 2;
inline constexpr uint8_t kPolicyDebugTrace = 4;
inline constexpr unsigned kDebugBytes = 192;
struct IpsecDebugEvent {
  uint32_t policy_id;
  uint32_t sa_id;           // the SA applied (outbound: outermost; inbound: the one found)
  uint8_t outbound;         // 1 OUT, 0 IN
  uint8_t post;             // 0 before processing, 1 after
  uint16_t len;             // the packet's IPv4 length
  uint16_t cap;             // bytes in data (from the IPv4 header on)
  uint16_t pad;
  uint8_t data[kDebugBytes];
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
    IpsecGlobalBody ipsec_global;
    SaBody sa;
    SaRefBody sa_ref;
    SaPage sa_page;
    SaKeepBody sa_keep;
    PolicyBody policy;
    PolicyRefBody policy_ref;
    SpdBeginBody spd_begin;
    SpdRulesBody spd_rules;
    SaExpiryEvent sa_expiry;
    AcquireEvent acquire;
    IpsecDebugEvent ipsec_debug;
  } body;
};

static_assert(std::is_trivially_copyable_v<Message>);
static_assert(sizeof(Message) <= 2048, "messages are pool elements; keep them small");
static_assert(sizeof(SaDumpEntry) == 112, "SaDumpEntry layout is part of the schema");

}  // namespace arsec::msg
