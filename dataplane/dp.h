// The runtime state of arsec-dataplane shared by the worker lcores and the main lcore.
//
// Ownership: everything here is created before the workers launch and destroyed after
// they stop. While they run, workers only read it, except their own WorkerStats block
// and tx buffers. Values the main lcore changes at run time are either swapped under
// RCU (the FIB, the neighbour hash) or single aligned words read with relaxed atomics
// (per-port source addresses, the counters-reset generation, the quit flag).
#pragma once

#include <rte_ether.h>
#include <rte_hash.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_mempool.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/doorbell.h"
#include "common/dp_stats.h"
#include "common/startup_config.h"
#include "dataplane/crypto/engine.h"
#include "dataplane/fib.h"
#include "dataplane/ipsec/ipsec_tables.h"

namespace arsec::dp {

inline constexpr unsigned kMaxPorts = 16;
inline constexpr unsigned kChunk = 64;  // packets per pipeline pass (per-chunk arrays on the stack)

// Why a packet went from a worker to the main lcore (stored in the mbuf's dynfield).
// kSlowAcquire: an outbound packet hit a KEYMAN=ISAKMP policy that has no SA; the main
// lcore raises kEvtAcquire from its headers and frees it.
enum SlowKind : uint8_t {
  kSlowArp = 1, kSlowMiss = 2, kSlowPunt = 3, kSlowDebug = 4, kSlowAcquire = 5
};
struct SlowMeta {
  uint32_t nexthop;  // kSlowMiss: the next hop to resolve (host order); kSlowDebug,
                     // kSlowAcquire: policy id
  uint32_t aux;      // kSlowDebug: SA id
  uint8_t kind;
  uint8_t flags;     // kSlowDebug: bit 0 outbound, bit 1 post processing
};

struct PortInfo {
  uint16_t port_id = 0;
  std::string name;
  std::string device;
  uint16_t mtu = 1500;
  rte_ether_addr mac{};
  bool link_up = false;
  uint32_t speed = 0;
};

struct Context {
  StartupConfig cfg;
  unsigned n_workers = 0;
  unsigned burst = 32;
  rte_mempool* pool = nullptr;  // packet buffers

  std::vector<PortInfo> ports;          // in startup-config order (message "port" index)
  int cfg_index[RTE_MAX_ETHPORTS];      // ethdev port id -> config index, -1 if none
  uint16_t port_ids[kMaxPorts];         // worker's list of ethdev port ids
  unsigned n_ports = 0;
  rte_ether_addr port_mac[RTE_MAX_ETHPORTS];
  uint16_t port_mtu[RTE_MAX_ETHPORTS];
  uint32_t port_src[RTE_MAX_ETHPORTS];  // source for ICMP errors sent out of a port
  uint32_t router_id = 0;               // any own address, for unnumbered ports

  rte_rcu_qsbr* rcu = nullptr;
  std::unique_ptr<LpmFib> fib;
  rte_hash* neigh = nullptr;            // (port << 32 | ip) -> MAC in the low 48 bits
  uint32_t neigh_gen = 0;               // bumped after every change to `neigh`: workers
                                        // then drop their private neighbour caches

  rte_ring* slow = nullptr;             // workers -> main lcore: mbufs (MP/SC)
  rte_ring* handoff = nullptr;          // main lcore -> worker 0: mbufs to transmit (SP/SC)
  rte_ring* req = nullptr;
  rte_ring* rep = nullptr;
  rte_ring* evt = nullptr;
  rte_ring* ike_rx = nullptr;           // main lcore -> arsec-control: IKE datagrams (SP/SC)
  rte_ring* ike_tx = nullptr;           // arsec-control -> main lcore: IKE to send (SP/SC)
  rte_mempool* msg_pool = nullptr;
  shm::Stats* stats = nullptr;
  shm::Bells* bells = nullptr;          // wake-ups with arsec-control (common/doorbell.h)

  int meta_off = -1;                    // dynfield offset of SlowMeta
  uint32_t reset_gen = 0;               // bumped by kCountersReset; workers zero themselves
  // IPsec: the SAD, policies and SPD; one crypto engine per worker ([n_workers]: the
  // main lcore's, used to create sessions).
  std::unique_ptr<IpsecTables> ipsec;
  std::vector<std::unique_ptr<crypto::CryptoEngine>> engines;
  std::shared_ptr<void> crypto_device;  // the cryptodev behind `engines`, if any
  rte_mempool* frag_direct = nullptr;    // fragmentation of protected packets
  rte_mempool* frag_indirect = nullptr;
  volatile int quit = 0;
  // While set, a munmap on the EAL interrupt thread first waits for an RCU grace period
  // of the workers (see UnmapGate in main.cc: memif disconnects unmap shared memory
  // under the workers' RX/TX otherwise).
  int unmap_gate = 0;
  uint64_t epoch = 0;
};

extern Context* g_ctx;

inline SlowMeta* Meta(rte_mbuf* m, int off) { return RTE_MBUF_DYNFIELD(m, off, SlowMeta*); }

inline uint64_t NeighKey(uint16_t port, uint32_t ip) { return (uint64_t{port} << 32) | ip; }

// Worker lcore entry point (arg: worker index cast to void*).
int WorkerMain(void* arg);
// Main lcore loop: requests, slow path, timers; returns when ctx->quit is set.
void MainLoop(Context* ctx);

}  // namespace arsec::dp
