// The event loop: drains the dataplane's event ring (neighbour changes, punted packets,
// link changes) into the log. Its own thread, the ring's only consumer.
#pragma once

#include <atomic>
#include <map>
#include <string>
#include <thread>

#include "control/config/log_buffer.h"

struct rte_ring;
struct rte_mempool;

namespace arsec::control {

class DataplaneEvents {
 public:
  DataplaneEvents(rte_ring* ring, rte_mempool* pool, LogBuffer* log,
                  std::map<uint16_t, std::string> port_names)
      : ring_(ring), pool_(pool), log_(log), port_names_(std::move(port_names)) {}
  ~DataplaneEvents() { Stop(); }

  void Start();
  void Stop();
  uint64_t handled() const { return handled_.load(); }

 private:
  void Loop();
  std::string Port(uint16_t p) const;

  rte_ring* ring_;
  rte_mempool* pool_;
  LogBuffer* log_;
  std::map<uint16_t, std::string> port_names_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> handled_{0};
  std::thread thread_;
};

}  // namespace arsec::control
