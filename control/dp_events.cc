// Event ring consumer. Punts are logged at a bounded rate: a flood of unhandled packets
// must not flush the rest of the log.
#include "control/dp_events.h"

#include <rte_mempool.h>
#include <rte_ring.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "cli/lang/parser.h"
#include "common/ring_msg.h"
#include "control/config/config_model.h"
#include "control/controller.h"

namespace arsec::control {

void DataplaneEvents::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void DataplaneEvents::Stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

std::string DataplaneEvents::Port(uint16_t p) const {
  auto it = port_names_.find(p);
  return it != port_names_.end() ? it->second : absl::StrCat("port", p);
}

void DataplaneEvents::OnAcquire(const msg::AcquireEvent& e) {
  if (on_acquire_) {
    on_acquire_(e);
    return;
  }
  // No IKE daemon to negotiate: say what asked for an SA. At most one line per policy
  // per second (the dataplane's limit).
  std::string what = absl::StrCat(lang::FormatIpv4(e.src), " > ", lang::FormatIpv4(e.dst),
                                  " proto ", e.proto);
  if (e.proto == 6 || e.proto == 17) {
    what = absl::StrCat(lang::FormatIpv4(e.src), ":", e.sport, " > ", lang::FormatIpv4(e.dst),
                        ":", e.dport, e.proto == 6 ? " TCP" : " UDP");
  }
  log_->Add(5, "IPSE", "IPSC", "MSG",
            absl::StrCat("IPSEC acquire for policy id ", e.policy_id, ": ", what,
                         " (no IKE daemon to negotiate an SA)"));
}

void DataplaneEvents::Loop() {
  absl::Time punt_window = absl::Now();
  unsigned punts_in_window = 0, punts_suppressed = 0;
  void* objs[32];
  while (!stop_.load()) {
    unsigned n = rte_ring_dequeue_burst(ring_, objs, 32, nullptr);
    if (n == 0) {
      absl::SleepFor(absl::Milliseconds(20));
      continue;
    }
    for (unsigned i = 0; i < n; ++i) {
      const auto* m = static_cast<const msg::Message*>(objs[i]);
      switch (m->type) {
        case msg::Type::kEvtNeighbour: {
          static const char* kState[] = {"incomplete", "reachable", "stale", "failed"};
          const auto& e = m->body.neigh;
          const uint8_t* a = e.mac;
          log_->Add(e.state == msg::kNeighFailed ? 4 : 6, "IP", "NEIG",
                    e.state == msg::kNeighFailed ? "FAIL" : "MSG",
                    absl::StrFormat("ARP %s on %s is %s (%02x-%02x-%02x-%02x-%02x-%02x)",
                                    lang::FormatIpv4(e.ip), Port(e.port),
                                    e.state < 4 ? kState[e.state] : "unknown", a[0], a[1], a[2],
                                    a[3], a[4], a[5]));
          break;
        }
        case msg::Type::kEvtPunt: {
          const absl::Time now = absl::Now();
          if (now - punt_window > absl::Seconds(1)) {
            if (punts_suppressed) {
              log_->Add(5, "DP", "PUNT", "MSG",
                        absl::StrCat(punts_suppressed, " more punted packets not logged"));
            }
            punt_window = now;
            punts_in_window = punts_suppressed = 0;
          }
          if (++punts_in_window <= 10) {
            const auto& p = m->body.punt;
            log_->Add(6, "DP", "PUNT", "MSG",
                      absl::StrCat("Punted from ", Port(p.port), ": ", lang::FormatIpv4(p.src), " > ",
                                   lang::FormatIpv4(p.dst), " proto ", p.proto, " (", p.len,
                                   " bytes), no local service"));
          } else {
            ++punts_suppressed;
          }
          break;
        }
        case msg::Type::kEvtLink: {
          const auto& l = m->body.link;
          log_->Add(3, "DP", "LINK", "MSG",
                    absl::StrCat("Link ", Port(l.port), " is ", l.up ? "up" : "down",
                                 l.up && l.speed_mbps ? absl::StrCat(" at ", l.speed_mbps, " Mb/s")
                                                      : std::string()));
          break;
        }
        case msg::Type::kEvtIpsecDebug:
          if (controller_ != nullptr) controller_->OnIpsecDebug(m->body.ipsec_debug);
          break;
        case msg::Type::kEvtSaExpiry: {
          const auto& x = m->body.sa_expiry;
          if (controller_ != nullptr) {
            controller_->OnSaExpiry(x);
          } else {
            log_->Add(3, "IPSE", "IPSC", "MSG",
                      absl::StrCat("IPsec SA ", x.sa_id / 2, " (policy id ", x.policy_id, ") ",
                                   x.hard ? "hard" : "soft", " lifetime expired"));
          }
          break;
        }
        case msg::Type::kEvtAcquire:
          OnAcquire(m->body.acquire);
          break;
        default:
          log_->Add(4, "DP", "EVT", "ERR",
                    absl::StrCat("Unexpected message type ", static_cast<int>(m->type),
                                 " on the event ring"));
      }
      rte_mempool_put(pool_, objs[i]);
      ++handled_;
    }
  }
}

}  // namespace arsec::control
