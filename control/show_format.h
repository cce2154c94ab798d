// The SHOW tables, as pure functions of the model and the dataplane's answers, so their
// layout is unit-tested without a dataplane. Layouts follow the AR's (a title, a rule of
// dashes, aligned columns, a closing rule), see the seed's `show ipsec sa` and `show log`.
#pragma once

#include <map>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "common/dp_stats.h"
#include "common/ring_msg.h"
#include "control/config/config_model.h"

namespace arsec::control {

std::string FormatIpInterfaces(const ConfigModel& model, absl::string_view only);
std::string FormatIpRoutes(const ConfigModel& model);
// Type is "static" for an entry the configuration holds (ADD IP ARP) or one the dataplane
// never ages (Reachable with no expiry: added by arsec-dpctl neigh-add), else "dynamic".
std::string FormatArp(const std::vector<msg::ArpEntry>& arp,
                      const std::map<std::string, uint16_t>& ports,
                      const std::vector<StaticArp>& statics = {});
std::string FormatUsers(const std::vector<User>& users, absl::string_view only);
std::string FormatPorts(const std::vector<msg::PortEntry>& ports);
std::string FormatCounters(const shm::Stats& stats);
std::string FormatRuntime(const shm::Stats& stats);
std::string FormatDataplaneSummary(const msg::HelloBody& hello, const shm::Stats& stats,
                                   size_t n_ports);

}  // namespace arsec::control
