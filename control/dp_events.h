// The event loop: drains the dataplane's event ring (neighbour changes, punted packets,
// link changes) into the log, and hands the IPsec events (SA expiry, POLICY DEBUG=PACKET
// dumps) to the Controller, which knows the policies and the consoles that asked. Its own
// thread, the ring's only consumer; nothing it calls waits on a CLI client.
//
// Acquires (traffic on a KEYMAN=ISAKMP policy that has no SA; the dataplane sends at most
// one per policy per second) go to the acquire handler — the IKE daemon, which starts a
// negotiation — or, while none is set, become a log line.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <string>
#include <thread>

#include "control/config/log_buffer.h"

#include "common/ring_msg.h"

struct rte_ring;
struct rte_mempool;

namespace arsec::control {

class Controller;

class DataplaneEvents {
 public:
  // `controller` may be null (tests of the log side): IPsec events are then only logged.
  DataplaneEvents(rte_ring* ring, rte_mempool* pool, LogBuffer* log,
                  std::map<uint16_t, std::string> port_names, Controller* controller = nullptr)
      : ring_(ring), pool_(pool), log_(log), port_names_(std::move(port_names)),
        controller_(controller) {}
  ~DataplaneEvents() { Stop(); }

  // Who takes kEvtAcquire. Called on the event thread; set it before Start().
  using AcquireHandler = std::function<void(const msg::AcquireEvent&)>;
  void SetAcquireHandler(AcquireHandler h) { on_acquire_ = std::move(h); }

  void Start();
  void Stop();
  uint64_t handled() const { return handled_.load(); }

 private:
  void Loop();
  void OnAcquire(const msg::AcquireEvent& e);
  std::string Port(uint16_t p) const;

  rte_ring* ring_;
  rte_mempool* pool_;
  LogBuffer* log_;
  std::map<uint16_t, std::string> port_names_;
  Controller* controller_;
  AcquireHandler on_acquire_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> handled_{0};
  std::thread thread_;
};

}  // namespace arsec::control
