// arsec-dataplane: the DPDK primary process.
//
// Start-up order: read and validate the startup config (or take the built-in default),
// build the EAL command line from it, create the objects arsec-control rendezvous with
// (request/reply/event rings, message pool, stats memzone — names in common/shm_names.h),
// the RCU variable, FIB and neighbour hash, bring the ports up with one RX/TX queue pair
// per worker, launch the workers, and run the main loop on the main lcore until SIGINT
// or SIGTERM. `--check` stops after validation, without touching the EAL.
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_errno.h>
#include <rte_hash_crc.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf_dyn.h>
#include <rte_memzone.h>

#include <rte_interrupts.h>

#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "common/ring_msg.h"
#include "common/shm_names.h"
#include "common/startup_config.h"
#include "dataplane/crypto/engine_factory.h"
#include "dataplane/dp.h"

namespace arsec::dp {

Context* g_ctx = nullptr;

namespace {

// Called by the interposed munmap below, on whatever thread unmaps.
//
// Why: DPDK 22.11's net_memif tears a connection down in memif_disconnect()
// (drivers/net/memif/memif_socket.c) on the EAL interrupt thread, when the peer's
// control socket closes or sends DISCONNECT. It clears ETH_MEMIF_FLAG_CONNECTED, closes
// the queue eventfds and then, in memif_free_regions(), munmap()s every shared-memory
// region and rte_free()s its descriptor -- at once, while a worker may be in the middle of
// eth_memif_rx/tx on those rings and buffers (they test the flag only on entry). Nothing
// in between is a hook for the application: no ethdev event is raised (memif writes
// dev_link.link_status directly, never RTE_ETH_EVENT_INTR_LSC) and no driver callback
// runs. The munmap() call itself is the first point where the application can act.
//
// What: on the interrupt thread, before each unmap, wait for one RCU grace period of the
// workers (they report a quiescent state after every poll of all ports, i.e. between
// bursts). Any burst that started before the flag was cleared has then returned, and
// every later burst sees the flag clear and returns 0 without touching the rings; so the
// unmap (and the rte_free() of the region records after it) can no longer fault a worker.
// Offline workers (stopping) are not waited for. Any other thread's munmap, and any
// munmap before the workers run or after they stopped, goes straight to the kernel.
void UnmapGate() {
  Context* ctx = g_ctx;
  if (ctx == nullptr || !__atomic_load_n(&ctx->unmap_gate, __ATOMIC_ACQUIRE)) return;
  if (!rte_thread_is_intr()) return;
  rte_rcu_qsbr_synchronize(ctx->rcu, RTE_QSBR_THRID_INVALID);
}

void OnSignal(int) {
  if (g_ctx != nullptr) __atomic_store_n(&g_ctx->quit, 1, __ATOMIC_RELAXED);
}

void Usage() {
  std::fprintf(stderr,
               "usage: arsec-dataplane [--config FILE] [--check]\n"
               "  --config FILE  startup config (libconfig); without it the built-in\n"
               "                 default runs two memif server ports, vlan1 and ppp0, on\n"
               "                 /run/arsec/memif.sock (see docs/dataplane.md)\n"
               "  --check        validate the config and exit 0 (valid) or 1\n");
}

bool IsPci(const std::string& d) {
  // "0000:00:04.0" or "00:04.0": hex digits, colons and one dot, no '='.
  if (d.find('=') != std::string::npos || d.find('.') == std::string::npos) return false;
  return d.find_first_not_of("0123456789abcdefABCDEF:.") == std::string::npos;
}

// memif servers create their socket but not its directory.
void PrepareSocketDir(const std::string& device) {
  auto pos = device.find("socket=");
  if (pos == std::string::npos) return;
  std::string path = device.substr(pos + 7);
  path = path.substr(0, path.find(','));
  auto slash = path.rfind('/');
  if (slash == std::string::npos || slash == 0) return;
  std::string dir = path.substr(0, slash);
  for (size_t i = 1; i <= dir.size(); ++i) {
    if (i == dir.size() || dir[i] == '/') mkdir(dir.substr(0, i).c_str(), 0755);
  }
}

std::string PortName(const std::string& device) { return device.substr(0, device.find(',')); }

bool FindPort(const std::string& device, uint16_t* pid) {
  if (rte_eth_dev_get_port_by_name(PortName(device).c_str(), pid) == 0) return true;
  uint16_t p;
  RTE_ETH_FOREACH_DEV(p) {
    char name[RTE_ETH_NAME_MAX_LEN];
    if (rte_eth_dev_get_name_by_port(p, name) != 0) continue;
    std::string n = name;
    if (n.size() >= device.size() && n.compare(n.size() - device.size(), device.size(), device) == 0) {
      *pid = p;
      return true;
    }
  }
  return false;
}

int SetupPort(Context* ctx, PortInfo& p) {
  rte_eth_dev_info info{};
  int rc = rte_eth_dev_info_get(p.port_id, &info);
  if (rc != 0) return rc;
  uint16_t nq = static_cast<uint16_t>(ctx->n_workers);
  if (info.max_rx_queues < nq || info.max_tx_queues < nq) {
    std::fprintf(stderr,
                 "arsec-dataplane: port %s (%s) offers %u RX / %u TX queues, %u workers need "
                 "%u each (for net_af_packet add qpairs=%u to the device)\n",
                 p.name.c_str(), p.device.c_str(), info.max_rx_queues, info.max_tx_queues,
                 ctx->n_workers, nq, nq);
    return -EINVAL;
  }
  rte_eth_conf conf{};
  if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE) {
    conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE;
  }
  rc = rte_eth_dev_configure(p.port_id, nq, nq, &conf);
  if (rc != 0) return rc;
  uint16_t nrx = static_cast<uint16_t>(ctx->cfg.rx_desc), ntx = static_cast<uint16_t>(ctx->cfg.tx_desc);
  rte_eth_dev_adjust_nb_rx_tx_desc(p.port_id, &nrx, &ntx);
  int socket = rte_eth_dev_socket_id(p.port_id);
  if (socket < 0) socket = static_cast<int>(rte_socket_id());
  for (uint16_t q = 0; q < nq; ++q) {
    rc = rte_eth_rx_queue_setup(p.port_id, q, nrx, static_cast<unsigned>(socket), nullptr,
                                ctx->pool);
    if (rc != 0) return rc;
    rte_eth_txconf txc = info.default_txconf;
    txc.offloads = conf.txmode.offloads;
    rc = rte_eth_tx_queue_setup(p.port_id, q, ntx, static_cast<unsigned>(socket), &txc);
    if (rc != 0) return rc;
  }
  if (rte_eth_dev_set_mtu(p.port_id, p.mtu) != 0) {
    uint16_t mtu = 0;
    if (rte_eth_dev_get_mtu(p.port_id, &mtu) == 0 && mtu != p.mtu) {
      std::fprintf(stderr, "arsec-dataplane: port %s keeps MTU %u (cannot set %u)\n",
                   p.name.c_str(), mtu, p.mtu);
      p.mtu = mtu;
    }
  }
  rc = rte_eth_dev_start(p.port_id);
  if (rc != 0) return rc;
  // Routers receive frames for any MAC the upstream sends them to; the worker filters.
  rte_eth_promiscuous_enable(p.port_id);
  rte_eth_macaddr_get(p.port_id, &p.mac);
  return 0;
}

int Fail(const char* what) {
  std::fprintf(stderr, "arsec-dataplane: %s: %s\n", what, rte_strerror(rte_errno));
  return 1;
}

}  // namespace

int Main(int argc, char** argv) {
  std::string config_path;
  bool check = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--config" && i + 1 < argc) {
      config_path = argv[++i];
    } else if (a == "--check") {
      check = true;
    } else if (a == "-h" || a == "--help") {
      Usage();
      return 0;
    } else {
      std::fprintf(stderr, "arsec-dataplane: unknown argument '%s'\n", a.c_str());
      Usage();
      return 1;
    }
  }
  StartupConfig cfg = BuiltinStartupConfig();
  if (!config_path.empty()) {
    auto loaded = LoadStartupConfig(config_path);
    if (!loaded.ok()) {
      std::fprintf(stderr, "arsec-dataplane: %s\n", std::string(loaded.status().message()).c_str());
      return 1;
    }
    cfg = *loaded;
  }
  if (check) {
    std::printf("%s: OK (%zu ports, %zu workers)\n", cfg.source.c_str(), cfg.ports.size(),
                cfg.worker_lcores.size());
    return 0;
  }

  // EAL command line from the config.
  std::vector<std::string> eal = {"arsec-dataplane", "-l", cfg.eal_lcores, "--file-prefix",
                                  cfg.file_prefix, "--proc-type=primary"};
  for (const PortConfig& p : cfg.ports) {
    if (IsPci(p.device)) {
      eal.insert(eal.end(), {"-a", p.device});
    } else {
      PrepareSocketDir(p.device);
      eal.insert(eal.end(), {"--vdev", p.device});
    }
  }
  for (const std::string& a : cfg.eal_args) eal.push_back(a);
  std::vector<char*> eargv;
  for (std::string& s : eal) eargv.push_back(s.data());
  eargv.push_back(nullptr);
  if (rte_eal_init(static_cast<int>(eal.size()), eargv.data()) < 0) {
    std::fprintf(stderr,
                 "arsec-dataplane: EAL init failed: %s (another primary with file prefix '%s'? "
                 "hugepages reserved and mounted?)\n",
                 rte_strerror(rte_errno), cfg.file_prefix.c_str());
    return 1;
  }

  static Context ctx;
  g_ctx = &ctx;
  ctx.cfg = cfg;
  ctx.n_workers = static_cast<unsigned>(cfg.worker_lcores.size());
  ctx.burst = cfg.burst;
  ctx.epoch = rte_rdtsc();
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  int socket = static_cast<int>(rte_socket_id());

  for (unsigned w : cfg.worker_lcores) {
    if (!rte_lcore_is_enabled(w) || w == rte_get_main_lcore()) {
      std::fprintf(stderr, "arsec-dataplane: worker lcore %u is not a worker lcore of the EAL\n", w);
      rte_eal_cleanup();
      return 1;
    }
  }

  // Shared with arsec-control.
  ctx.req = rte_ring_create(shm::kRequestRing, shm::kRingSize, socket, RING_F_SC_DEQ);
  ctx.rep = rte_ring_create(shm::kReplyRing, shm::kRingSize, socket, RING_F_SP_ENQ);
  ctx.evt = rte_ring_create(shm::kEventRing, shm::kRingSize, socket, RING_F_SP_ENQ);
  ctx.msg_pool = rte_mempool_create(shm::kMessagePool, shm::kMessagePoolSize, sizeof(msg::Message),
                                    0, 0, nullptr, nullptr, nullptr, nullptr, socket, 0);
  // IKE datagrams as whole mbufs, both ways (main lcore <-> the IKE daemon): SP/SC.
  ctx.ike_rx = rte_ring_create(shm::kIkeRxRing, shm::kIkeRingSize, socket,
                               RING_F_SP_ENQ | RING_F_SC_DEQ);
  ctx.ike_tx = rte_ring_create(shm::kIkeTxRing, shm::kIkeRingSize, socket,
                               RING_F_SP_ENQ | RING_F_SC_DEQ);
  const rte_memzone* mz = rte_memzone_reserve(shm::kStatsZone, sizeof(shm::Stats), socket, 0);
  const rte_memzone* bz = rte_memzone_reserve(shm::kBellsZone, sizeof(shm::Bells), socket, 0);
  if (!ctx.req || !ctx.rep || !ctx.evt || !ctx.msg_pool || !ctx.ike_rx || !ctx.ike_tx || !mz ||
      !bz)
    return Fail("control rings");
  ctx.bells = static_cast<shm::Bells*>(bz->addr);
  std::memset(ctx.bells, 0, sizeof(shm::Bells));
  ctx.stats = static_cast<shm::Stats*>(mz->addr);
  std::memset(ctx.stats, 0, sizeof(shm::Stats));
  ctx.stats->tsc_hz = rte_get_tsc_hz();
  ctx.stats->n_workers = ctx.n_workers;
  ctx.stats->worker[shm::kMaxWorkers].lcore = rte_get_main_lcore();
  ctx.stats->worker[shm::kMaxWorkers].active = 1;

  // Internal.
  ctx.slow = rte_ring_create("arsec_slow", 4096, socket, RING_F_SC_DEQ);
  ctx.handoff = rte_ring_create("arsec_handoff", 1024, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
  static const rte_mbuf_dynfield meta_desc = {"arsec_dp_slow_meta", sizeof(SlowMeta),
                                              alignof(SlowMeta), 0};
  ctx.meta_off = rte_mbuf_dynfield_register(&meta_desc);
  ctx.pool = rte_pktmbuf_pool_create(shm::kPacketPool, cfg.mbufs, 256, 0,
                                     RTE_MBUF_DEFAULT_BUF_SIZE, socket);
  if (!ctx.slow || !ctx.handoff || ctx.meta_off < 0 || !ctx.pool) return Fail("buffers");

  size_t rcu_sz = rte_rcu_qsbr_get_memsize(ctx.n_workers);
  ctx.rcu = static_cast<rte_rcu_qsbr*>(rte_zmalloc_socket("arsec_rcu", rcu_sz, RTE_CACHE_LINE_SIZE, socket));
  if (!ctx.rcu || rte_rcu_qsbr_init(ctx.rcu, ctx.n_workers) != 0) return Fail("RCU");
  ctx.fib = std::make_unique<LpmFib>("arsec_fib", socket, 65536, 4096, ctx.rcu);
  if (!ctx.fib->ok()) return Fail("FIB");
  rte_hash_parameters hp{};
  hp.name = "arsec_neigh";
  hp.entries = cfg.arp_table_size;
  hp.key_len = sizeof(uint64_t);
  hp.hash_func = rte_hash_crc;
  hp.socket_id = socket;
  hp.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF;
  ctx.neigh = rte_hash_create(&hp);
  if (!ctx.neigh) return Fail("neighbour hash");
  rte_hash_rcu_config hrc{};
  hrc.v = ctx.rcu;
  hrc.mode = RTE_HASH_QSBR_MODE_DQ;
  if (rte_hash_rcu_qsbr_add(ctx.neigh, &hrc) != 0) return Fail("neighbour hash RCU");

  for (int& i : ctx.cfg_index) i = -1;
  for (size_t i = 0; i < cfg.ports.size(); ++i) {
    PortInfo p;
    p.name = cfg.ports[i].name;
    p.device = cfg.ports[i].device;
    p.mtu = cfg.ports[i].mtu;
    if (!FindPort(p.device, &p.port_id)) {
      std::fprintf(stderr, "arsec-dataplane: port %s: no ethdev for device '%s'\n",
                   p.name.c_str(), p.device.c_str());
      rte_eal_cleanup();
      return 1;
    }
    int rc = SetupPort(&ctx, p);
    if (rc != 0) {
      std::fprintf(stderr, "arsec-dataplane: port %s (%s): setup failed: %s\n", p.name.c_str(),
                   p.device.c_str(), rte_strerror(-rc));
      rte_eal_cleanup();
      return 1;
    }
    ctx.cfg_index[p.port_id] = static_cast<int>(i);
    ctx.port_ids[ctx.n_ports++] = p.port_id;
    ctx.port_mac[p.port_id] = p.mac;
    ctx.port_mtu[p.port_id] = p.mtu;
    char mac[RTE_ETHER_ADDR_FMT_SIZE];
    rte_ether_format_addr(mac, sizeof mac, &p.mac);
    std::fprintf(stderr, "arsec-dataplane: port %zu %s = %s (ethdev %u, %s, mtu %u)\n", i,
                 p.name.c_str(), p.device.c_str(), p.port_id, mac, p.mtu);
    ctx.ports.push_back(p);
  }

  // Crypto engines (one per worker, one for the main lcore's session set-up) and the
  // IPsec tables.
  {
    auto engines = CreateCryptoEngines(cfg.crypto_engine, ctx.n_workers + 1, socket);
    if (!engines.ok()) {
      std::fprintf(stderr, "arsec-dataplane: crypto: %s\n",
                   std::string(engines.status().message()).c_str());
      rte_eal_cleanup();
      return 1;
    }
    ctx.engines = std::move(engines->engines);
    ctx.crypto_device = engines->device;
    std::fprintf(stderr, "arsec-dataplane: crypto engine %s\n", engines->description.c_str());
    IpsecTables::Options io;
    io.socket = socket;
    io.n_workers = ctx.n_workers;
    auto t = IpsecTables::Create(io, ctx.rcu, ctx.engines.back().get());
    if (!t.ok()) {
      std::fprintf(stderr, "arsec-dataplane: IPsec tables: %s\n",
                   std::string(t.status().message()).c_str());
      rte_eal_cleanup();
      return 1;
    }
    ctx.ipsec = std::move(*t);
    // Fragments of protected packets: a header mbuf each (direct) plus a reference to
    // the payload (indirect); they live only until the TX burst.
    ctx.frag_direct = rte_pktmbuf_pool_create("arsec_frag_d", 1023, 64, 0,
                                              RTE_MBUF_DEFAULT_BUF_SIZE, socket);
    ctx.frag_indirect = rte_pktmbuf_pool_create("arsec_frag_i", 1023, 64, 0, 0, socket);
    if (!ctx.frag_direct || !ctx.frag_indirect) return Fail("fragment buffers");
  }

  __atomic_store_n(&ctx.unmap_gate, 1, __ATOMIC_RELEASE);
  unsigned wi = 0;
  for (unsigned l : cfg.worker_lcores) {
    ctx.stats->worker[wi].lcore = l;
    if (rte_eal_remote_launch(WorkerMain, reinterpret_cast<void*>(uintptr_t{wi}), l) != 0) {
      return Fail("launch worker");
    }
    ++wi;
  }
  std::fprintf(stderr, "arsec-dataplane: ready: %zu ports, %u workers, file prefix %s\n",
               ctx.ports.size(), ctx.n_workers, cfg.file_prefix.c_str());

  MainLoop(&ctx);

  std::fprintf(stderr, "arsec-dataplane: stopping\n");
  int exit_code = 0;
  for (unsigned l : cfg.worker_lcores) {
    if (rte_eal_wait_lcore(l) != 0) exit_code = 1;  // a worker could not start
  }
  __atomic_store_n(&ctx.unmap_gate, 0, __ATOMIC_RELEASE);
  for (const PortInfo& p : ctx.ports) {
    rte_eth_dev_stop(p.port_id);
    rte_eth_dev_close(p.port_id);
  }
  void* obj = nullptr;
  while (rte_ring_dequeue(ctx.slow, &obj) == 0) rte_pktmbuf_free(static_cast<rte_mbuf*>(obj));
  while (rte_ring_dequeue(ctx.handoff, &obj) == 0) rte_pktmbuf_free(static_cast<rte_mbuf*>(obj));
  ctx.ipsec.reset();
  ctx.engines.clear();
  ctx.crypto_device.reset();
  ctx.fib.reset();
  rte_hash_free(ctx.neigh);
  rte_eal_cleanup();
  return exit_code;
}

}  // namespace arsec::dp

// Interposes libc's munmap for the whole process (the executable's definition comes first
// in the global symbol scope, so the dlopen()ed PMDs bind to it): see UnmapGate. The
// linker exports it because the DPDK libraries this executable links reference munmap.
extern "C" int munmap(void* addr, size_t len) noexcept {
  arsec::dp::UnmapGate();
  return static_cast<int>(syscall(SYS_munmap, addr, len));
}

int main(int argc, char** argv) { return arsec::dp::Main(argc, argv); }
