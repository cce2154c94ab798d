#include "control/ike/ike_daemon.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include <openssl/rand.h>

#include "absl/time/clock.h"

namespace arsec::ike {

void InstallLatency::Record(uint64_t ns) {
  if (ns_.size() < kWindow) {
    ns_.push_back(ns);
  } else {
    ns_[next_] = ns;
    next_ = (next_ + 1) % kWindow;
  }
  ++count_;
  max_ns_ = std::max(max_ns_, ns);
}

void InstallLatency::Reset() {
  ns_.clear();
  next_ = 0;
  count_ = 0;
  max_ns_ = 0;
}

uint64_t InstallLatency::PercentileUs(double p) const {
  if (ns_.empty()) return 0;
  // Nearest rank: the smallest value with at least p% of the window at or below it.
  const double rank = std::ceil(std::clamp(p, 0.0, 100.0) / 100.0 * static_cast<double>(ns_.size()));
  const size_t k = rank < 1 ? 0 : static_cast<size_t>(rank) - 1;
  std::vector<uint64_t> v = ns_;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return (v[k] + 999) / 1000;
}

// Forwards to the real installer and times Install (on the daemon thread, where the engine
// calls it).
class IkeDaemon::TimedInstaller : public SaInstaller {
 public:
  TimedInstaller(SaInstaller* inner, InstallLatency* latency, uint64_t* failures)
      : inner_(inner), latency_(latency), failures_(failures) {}
  uint32_t ReserveSpi(control::SaProtocol p) override { return inner_->ReserveSpi(p); }
  void ReleaseSpi(control::SaProtocol p, uint32_t spi) override { inner_->ReleaseSpi(p, spi); }
  absl::StatusOr<uint32_t> Install(const NegotiatedBundle& b) override {
    const auto t0 = std::chrono::steady_clock::now();
    auto h = inner_->Install(b);
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                        std::chrono::steady_clock::now() - t0).count();
    if (h.ok()) {
      latency_->Record(static_cast<uint64_t>(ns));
    } else {
      ++*failures_;
    }
    return h;
  }
  void Activate(uint32_t handle) override { inner_->Activate(handle); }
  void Remove(uint32_t handle) override { inner_->Remove(handle); }

 private:
  SaInstaller* inner_;
  InstallLatency* latency_;
  uint64_t* failures_;
};

IkeDaemon::IkeDaemon(DatagramTransport* transport, SaInstaller* installer, LogFn log)
    : transport_(transport),
      timed_installer_(
          std::make_unique<TimedInstaller>(installer, &install_latency_, &install_failures_)) {
  EngineEnv env;
  env.transport = transport;
  env.installer = timed_installer_.get();
  env.log = std::move(log);
  env.debug = [this](uint32_t flag, const std::string& text) { DebugOut(flag, text); };
  env.now = [] { return absl::Now(); };
  env.random = [](uint8_t* p, size_t n) {
    if (RAND_bytes(p, static_cast<int>(n)) != 1) std::abort();   // no randomness: no IKE
  };
  engine_ = std::make_unique<Engine>(std::move(env));
}

IkeDaemon::~IkeDaemon() { Stop(); }

void IkeDaemon::Start() {
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void IkeDaemon::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void IkeDaemon::Post(std::function<void(Engine&)> f) {
  std::lock_guard<std::mutex> l(post_mu_);
  posted_.push_back(std::move(f));
}

void IkeDaemon::Configure(std::shared_ptr<const IkeConfig> cfg) {
  Post([cfg = std::move(cfg)](Engine& e) mutable { e.Configure(std::move(cfg)); });
}

void IkeDaemon::Acquire(uint32_t policy_id, uint32_t src, uint32_t dst) {
  Post([=](Engine& e) { e.Acquire(policy_id, src, dst); });
}

void IkeDaemon::SaExpired(uint32_t handle, bool hard) {
  Post([=](Engine& e) {
    if (hard) {
      e.HardExpired(handle);
    } else {
      e.SoftExpired(handle);
    }
  });
}

void IkeDaemon::AdoptBundle(const AdoptedSaBundle& b) {
  Post([b](Engine& e) { e.AdoptBundle(b); });
}

void IkeDaemon::ResetSas() {
  Post([](Engine& e) { e.ResetSas(); });
}

void IkeDaemon::ResetCounters() {
  Post([this](Engine& e) {
    e.ResetCounters();
    install_latency_.Reset();
    install_failures_ = 0;
  });
}

void IkeDaemon::SetDebug(uint32_t flags, std::shared_ptr<control::ConsoleSink> console) {
  uint32_t all = 0;
  {
    std::lock_guard<std::mutex> l(debug_mu_);
    bool found = false;
    for (auto& c : consoles_) {
      if (c.console.lock() == console) {
        c.flags = flags;
        found = true;
      }
    }
    if (!found && flags != 0 && console) consoles_.push_back({console, flags});
    std::vector<DebugConsole> keep;
    for (auto& c : consoles_)
      if (!c.console.expired() && c.flags != 0) keep.push_back(c);
    consoles_.swap(keep);
    for (auto& c : consoles_) all |= c.flags;
  }
  Post([all](Engine& e) { e.SetDebugFlags(all); });
}

void IkeDaemon::DebugOut(uint32_t flag, const std::string& text) {
  std::vector<std::shared_ptr<control::ConsoleSink>> to;
  {
    std::lock_guard<std::mutex> l(debug_mu_);
    for (auto& c : consoles_) {
      if (!(c.flags & flag)) continue;
      if (auto s = c.console.lock()) to.push_back(std::move(s));
    }
  }
  for (auto& s : to) s->Post(text);
}

std::vector<IsakmpSaInfo> IkeDaemon::IsakmpSas() {
  std::lock_guard<std::mutex> l(status_mu_);
  return sas_;
}

std::vector<ExchangeInfo> IkeDaemon::Exchanges() {
  std::lock_guard<std::mutex> l(status_mu_);
  return xchgs_;
}

IsakmpCounters IkeDaemon::Counters() {
  std::lock_guard<std::mutex> l(status_mu_);
  return counters_;
}

void IkeDaemon::RunPosted() {
  std::deque<std::function<void(Engine&)>> work;
  {
    std::lock_guard<std::mutex> l(post_mu_);
    work.swap(posted_);
  }
  for (auto& f : work) f(*engine_);
}

void IkeDaemon::Snapshot() {
  auto sas = engine_->IsakmpSas();
  auto xs = engine_->Exchanges();
  auto c = engine_->Counters();
  // The install timing joins the GENERAL group (SHOW ISAKMP COUNTERS=GENERAL).
  for (auto& g : c.groups) {
    if (g.name != "GENERAL") continue;
    g.values.push_back({"sasInstalled", install_latency_.count()});
    g.values.push_back({"installFailures", install_failures_});
    g.values.push_back({"installLatencyP50Us", install_latency_.PercentileUs(50)});
    g.values.push_back({"installLatencyP99Us", install_latency_.PercentileUs(99)});
    g.values.push_back({"installLatencyMaxUs", install_latency_.MaxUs()});
    break;
  }
  std::lock_guard<std::mutex> l(status_mu_);
  sas_ = std::move(sas);
  xchgs_ = std::move(xs);
  counters_ = std::move(c);
}

void IkeDaemon::Loop() {
  std::vector<Datagram> in;
  absl::Time next_tick = absl::Now();
  absl::Time last_snapshot = absl::Now();
  bool dirty = false;
  Snapshot();
  while (!stop_) {
    transport_->Wait(10);
    bool posted = false;
    {
      std::lock_guard<std::mutex> l(post_mu_);
      posted = !posted_.empty();
    }
    RunPosted();
    in.clear();
    const bool received = transport_->Receive(in, 256) > 0;
    // Messages of exchanges under way (a responder cookie set) before new first
    // messages: a flood of first messages queued ahead of a real peer's third one must
    // not delay it past the half-open cap's eviction of its state.
    std::stable_partition(in.begin(), in.end(), [](const Datagram& d) {
      if (d.data.size() < 16) return false;
      for (size_t k = 8; k < 16; ++k)
        if (d.data[k] != 0) return true;
      return false;
    });
    for (const auto& d : in) engine_->OnDatagram(d);
    const absl::Time now = absl::Now();
    bool ticked = false;
    if (now >= next_tick) {
      engine_->Tick();
      next_tick = now + absl::Milliseconds(100);
      ticked = true;
    }
    // SHOW reads a copy, refreshed after anything happened, so a SHOW right after a log
    // line agrees with it. Only with many SAs held does traffic alone refresh it at most
    // every 50 ms: the copy costs in proportion to the SAs (with thousands of peers,
    // rebuilding it after every message was most of the daemon's time).
    dirty |= received;
    const bool cheap = engine_->SaCount() < kCheapSnapshotSas;
    if (posted || ticked || (dirty && (cheap || now - last_snapshot >= absl::Milliseconds(50)))) {
      Snapshot();
      last_snapshot = now;
      dirty = false;
    }
  }
}

}  // namespace arsec::ike
