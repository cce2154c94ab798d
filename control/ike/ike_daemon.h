// The IKE daemon of arsec-control: one thread that owns the Engine, feeds it the
// datagrams of its transport, ticks its timers every 100 ms, and takes work posted by
// other threads (a new configuration snapshot, acquire and expiry events from the
// dataplane, RESET and DEBUG from the CLI).
//
// Nothing outside the thread ever touches the engine. The CLI reads snapshots of its
// state (SHOW ISAKMP SA/EXCHANGE/COUNTERS) refreshed after every step, so a SHOW never
// waits for IKE, and the engine's calls into the SaInstaller (which takes the
// controller's lock) can never deadlock with a command holding that lock.
//
// The daemon also times every SaInstaller::Install (InstallLatency below) and reports it
// in SHOW ISAKMP COUNTERS=GENERAL: with the real installer (control/ike_link.h) Install
// returns once the dataplane has acknowledged, on the ring, the new SAs and the policy
// pointing at them, so its duration is "quick mode complete -> bundle in force".
#pragma once

#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "control/ike/engine.h"
#include "control/ike/ike_service.h"

namespace arsec::ike {

// Durations of the last kWindow installs, for exact percentiles (nearest rank) over that
// window, and the largest since the last Reset. Used on the daemon thread only.
class InstallLatency {
 public:
  static constexpr size_t kWindow = 4096;
  void Record(uint64_t ns);
  void Reset();
  uint64_t count() const { return count_; }    // installs since the last Reset
  // The p-th percentile (0 < p <= 100) of the window in microseconds, rounded up; 0 when
  // nothing was recorded.
  uint64_t PercentileUs(double p) const;
  uint64_t MaxUs() const { return (max_ns_ + 999) / 1000; }

 private:
  std::vector<uint64_t> ns_;                   // a ring once it holds kWindow
  size_t next_ = 0;
  uint64_t count_ = 0;
  uint64_t max_ns_ = 0;
};

class IkeDaemon : public IkeService {
 public:
  using LogFn = std::function<void(int severity, const std::string& stype, const std::string& line)>;
  IkeDaemon(DatagramTransport* transport, SaInstaller* installer, LogFn log);
  ~IkeDaemon() override;

  void Start();
  void Stop();

  // ---- posted work (any thread, never blocks on IKE)
  void Configure(std::shared_ptr<const IkeConfig> cfg) override;
  void Acquire(uint32_t policy_id, uint32_t src, uint32_t dst) override;
  void SaExpired(uint32_t bundle_handle, bool hard) override;
  void AdoptBundle(const AdoptedSaBundle& b) override;
  // Runs `f` on the daemon thread with the engine (tests, PRENEGOTIATE).
  void Post(std::function<void(Engine&)> f);

  // ---- IkeService
  std::vector<IsakmpSaInfo> IsakmpSas() override;
  std::vector<ExchangeInfo> Exchanges() override;
  IsakmpCounters Counters() override;
  void ResetSas() override;
  void ResetCounters() override;
  void SetDebug(uint32_t flags, std::shared_ptr<control::ConsoleSink> console) override;

 private:
  void Loop();
  // Below this many ISAKMP SAs the SHOW snapshot is rebuilt after every message.
  static constexpr size_t kCheapSnapshotSas = 256;
  void RunPosted();
  void Snapshot();
  void DebugOut(uint32_t flag, const std::string& text);

  class TimedInstaller;
  DatagramTransport* transport_;
  InstallLatency install_latency_;             // daemon thread only
  uint64_t install_failures_ = 0;              // daemon thread only
  std::unique_ptr<TimedInstaller> timed_installer_;
  std::unique_ptr<Engine> engine_;
  std::thread thread_;
  std::atomic<bool> stop_{false};

  std::mutex post_mu_;
  std::deque<std::function<void(Engine&)>> posted_;

  std::mutex status_mu_;
  std::vector<IsakmpSaInfo> sas_;
  std::vector<ExchangeInfo> xchgs_;
  IsakmpCounters counters_;

  std::mutex debug_mu_;
  struct DebugConsole {
    std::weak_ptr<control::ConsoleSink> console;
    uint32_t flags = 0;
  };
  std::vector<DebugConsole> consoles_;
};

}  // namespace arsec::ike
