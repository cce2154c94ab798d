// Loads the startup config (libconfig syntax) shared by arsec-dataplane and arsec-control.
//
// The loader is strict on purpose: a deployment file with a misspelt key would otherwise
// run on defaults nobody asked for. Every setting is checked against a schema (allowed
// keys per group, type, range, name syntax) and the first problem is reported as
// "FILE:LINE: message", using libconfig's record of where each setting was read.
// Cross-setting rules (worker lcores inside eal.lcores, unique port names) are checked
// after the walk and name the line of the setting at fault.
#include "common/startup_config.h"

#include <libconfig.h++>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/numbers.h"

namespace arsec {
namespace {

using libconfig::Setting;

// Errors carry the source name given by the caller (the file path, or the name used for
// ParseStartupConfig) since readString() leaves libconfig without a file name.
class Checker {
 public:
  explicit Checker(std::string source) : source_(std::move(source)) {}

  absl::Status Error(const Setting& s, const std::string& msg) const {
    return absl::InvalidArgumentError(
        absl::StrCat(source_, ":", s.getSourceLine(), ": ", msg));
  }

  absl::Status Keys(const Setting& group, std::initializer_list<const char*> allowed) const {
    if (!group.isGroup()) {
      return Error(group, absl::StrCat("'", Path(group), "' must be a group { ... }"));
    }
    for (int i = 0; i < group.getLength(); ++i) {
      const Setting& s = group[i];
      const char* name = s.getName();
      bool ok = std::any_of(allowed.begin(), allowed.end(),
                            [&](const char* a) { return std::string(a) == name; });
      if (!ok) {
        return Error(s, absl::StrCat("unknown key '", Path(s), "' (allowed in '",
                                     Path(group), "': ", absl::StrJoin(allowed, ", "), ")"));
      }
    }
    return absl::OkStatus();
  }

  absl::Status String(const Setting& s, std::string* out, bool allow_empty = false) const {
    if (s.getType() != Setting::TypeString) {
      return Error(s, absl::StrCat("'", Path(s), "' must be a string"));
    }
    std::string v = s.c_str();
    if (v.empty() && !allow_empty) {
      return Error(s, absl::StrCat("'", Path(s), "' must not be empty"));
    }
    *out = std::move(v);
    return absl::OkStatus();
  }

  absl::Status Uint(const Setting& s, unsigned lo, unsigned hi, unsigned* out) const {
    if (s.getType() != Setting::TypeInt && s.getType() != Setting::TypeInt64) {
      return Error(s, absl::StrCat("'", Path(s), "' must be an integer"));
    }
    // libconfig converts only to the exact C type of the stored setting.
    long long v = s.getType() == Setting::TypeInt64 ? static_cast<long long>(s)
                                                    : static_cast<long long>(static_cast<int>(s));
    if (v < lo || v > hi) {
      return Error(s, absl::StrCat("'", Path(s), "' = ", v, " is out of range [", lo, ", ",
                                   hi, "]"));
    }
    *out = static_cast<unsigned>(v);
    return absl::OkStatus();
  }

  static std::string Path(const Setting& s) {
    std::string p = s.getPath();
    return p.empty() ? std::string("<root>") : p;
  }

 private:
  std::string source_;
};

#define CHECK_OK(expr)                      \
  do {                                      \
    absl::Status _st = (expr);              \
    if (!_st.ok()) return _st;              \
  } while (0)

bool ValidPortName(const std::string& n) {
  // AR-style: letters then a number ("vlan1", "ppp0", "eth0"); the CLI appends "-N" for
  // logical interfaces, so keep room in msg::kIfNameLen (16 with the NUL).
  if (n.empty() || n.size() > 12) return false;
  size_t i = 0;
  while (i < n.size() && std::islower(static_cast<unsigned char>(n[i]))) ++i;
  if (i == 0 || i == n.size()) return false;
  for (; i < n.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(n[i]))) return false;
  }
  return true;
}

bool ValidPrefix(const std::string& p) {
  return !p.empty() && p.size() <= 32 &&
         std::all_of(p.begin(), p.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
         });
}

// Parses an EAL core list ("0,1", "0-3", "0,2-3") into its lcore ids. Returns false for
// the richer "lcore@cpu" / "(a,b)@c" forms, which the caller then does not cross-check.
bool ParseCoreList(const std::string& s, std::set<unsigned>* out, unsigned* first) {
  bool have_first = false;
  for (absl::string_view part : absl::StrSplit(s, ',')) {
    std::vector<absl::string_view> range = absl::StrSplit(part, '-');
    unsigned a = 0, b = 0;
    if (range.size() == 1) {
      if (!absl::SimpleAtoi(range[0], &a)) return false;
      b = a;
    } else if (range.size() == 2) {
      if (!absl::SimpleAtoi(range[0], &a) || !absl::SimpleAtoi(range[1], &b) || b < a) {
        return false;
      }
    } else {
      return false;
    }
    if (b >= 1024) return false;
    if (!have_first) {
      *first = a;
      have_first = true;
    }
    for (unsigned c = a; c <= b; ++c) out->insert(c);
  }
  return have_first;
}

absl::Status Walk(const Checker& ck, const Setting& root, StartupConfig* c) {
  CHECK_OK(ck.Keys(root, {"eal", "ports", "workers", "crypto", "control", "arp", "buffers"}));

  if (root.exists("eal")) {
    const Setting& eal = root["eal"];
    CHECK_OK(ck.Keys(eal, {"lcores", "file_prefix", "args"}));
    if (eal.exists("lcores")) {
      CHECK_OK(ck.String(eal["lcores"], &c->eal_lcores));
      std::set<unsigned> cores;
      unsigned first = 0;
      bool simple = ParseCoreList(c->eal_lcores, &cores, &first);
      bool rich = c->eal_lcores.find_first_of("@()") != std::string::npos;
      if (!simple && !rich) {
        return ck.Error(eal["lcores"], "'eal.lcores' is not an EAL core list (\"0,1\", \"0-3\")");
      }
    }
    if (eal.exists("file_prefix")) {
      CHECK_OK(ck.String(eal["file_prefix"], &c->file_prefix));
      if (!ValidPrefix(c->file_prefix)) {
        return ck.Error(eal["file_prefix"],
                        "'eal.file_prefix' may hold only letters, digits, '_' and '-' (max 32)");
      }
    }
    if (eal.exists("args")) {
      const Setting& args = eal["args"];
      if (!args.isArray() && !args.isList()) {
        return ck.Error(args, "'eal.args' must be a list of strings [ \"...\", ... ]");
      }
      c->eal_args.clear();
      for (int i = 0; i < args.getLength(); ++i) {
        std::string a;
        CHECK_OK(ck.String(args[i], &a));
        c->eal_args.push_back(a);
      }
    }
  }

  if (root.exists("ports")) {
    const Setting& ports = root["ports"];
    if (!ports.isList()) {
      return ck.Error(ports, "'ports' must be a list ( { name = ...; device = ...; }, ... )");
    }
    if (ports.getLength() < 1 || ports.getLength() > 16) {
      return ck.Error(ports, "'ports' must list between 1 and 16 ports");
    }
    c->ports.clear();
    std::set<std::string> names, devices;
    for (int i = 0; i < ports.getLength(); ++i) {
      const Setting& p = ports[i];
      CHECK_OK(ck.Keys(p, {"name", "device", "mtu"}));
      PortConfig pc;
      if (!p.exists("name")) return ck.Error(p, absl::StrCat("port ", i + 1, " has no 'name'"));
      if (!p.exists("device")) {
        return ck.Error(p, absl::StrCat("port ", i + 1, " has no 'device'"));
      }
      CHECK_OK(ck.String(p["name"], &pc.name));
      if (!ValidPortName(pc.name)) {
        return ck.Error(p["name"], absl::StrCat("bad port name '", pc.name,
                                                "': lower-case letters then digits, as "
                                                "\"vlan1\" or \"ppp0\" (max 12 characters)"));
      }
      if (!names.insert(pc.name).second) {
        return ck.Error(p["name"], absl::StrCat("duplicate port name '", pc.name, "'"));
      }
      CHECK_OK(ck.String(p["device"], &pc.device));
      if (pc.device.find_first_of(" \t\n") != std::string::npos) {
        return ck.Error(p["device"], "'device' must not contain white space");
      }
      if (!devices.insert(pc.device).second) {
        return ck.Error(p["device"], absl::StrCat("duplicate port device '", pc.device, "'"));
      }
      if (p.exists("mtu")) {
        unsigned mtu = 0;
        CHECK_OK(ck.Uint(p["mtu"], 68, 9600, &mtu));
        pc.mtu = static_cast<uint16_t>(mtu);
      }
      c->ports.push_back(std::move(pc));
    }
  }

  if (root.exists("workers")) {
    const Setting& w = root["workers"];
    CHECK_OK(ck.Keys(w, {"lcores", "burst"}));
    if (w.exists("lcores")) {
      const Setting& l = w["lcores"];
      if (!l.isArray() && !l.isList()) {
        return ck.Error(l, "'workers.lcores' must be a list of lcore numbers [ 1, 2 ]");
      }
      if (l.getLength() < 1 || l.getLength() > 16) {
        return ck.Error(l, "'workers.lcores' must name between 1 and 16 lcores");
      }
      c->worker_lcores.clear();
      std::set<unsigned> seen;
      for (int i = 0; i < l.getLength(); ++i) {
        unsigned v = 0;
        CHECK_OK(ck.Uint(l[i], 0, 1023, &v));
        if (!seen.insert(v).second) {
          return ck.Error(l[i], absl::StrCat("lcore ", v, " listed twice in 'workers.lcores'"));
        }
        c->worker_lcores.push_back(v);
      }
    }
    if (w.exists("burst")) CHECK_OK(ck.Uint(w["burst"], 1, 256, &c->burst));
  }

  if (root.exists("crypto")) {
    const Setting& cr = root["crypto"];
    CHECK_OK(ck.Keys(cr, {"engine"}));
    if (cr.exists("engine")) CHECK_OK(ck.String(cr["engine"], &c->crypto_engine));
  }

  if (root.exists("control")) {
    const Setting& ct = root["control"];
    CHECK_OK(ck.Keys(ct, {"socket", "boot_config", "lcores"}));
    if (ct.exists("socket")) {
      CHECK_OK(ck.String(ct["socket"], &c->control_socket));
      if (c->control_socket.size() >= 108) {
        return ck.Error(ct["socket"], "'control.socket' is longer than a Unix socket path may be");
      }
    }
    if (ct.exists("boot_config")) CHECK_OK(ck.String(ct["boot_config"], &c->boot_config));
    if (ct.exists("lcores")) CHECK_OK(ck.String(ct["lcores"], &c->control_lcores));
  }

  if (root.exists("arp")) {
    const Setting& a = root["arp"];
    CHECK_OK(ck.Keys(a, {"reachable_s", "retry_ms", "max_retries", "table_size"}));
    if (a.exists("reachable_s")) CHECK_OK(ck.Uint(a["reachable_s"], 1, 86400, &c->arp_reachable_s));
    if (a.exists("retry_ms")) CHECK_OK(ck.Uint(a["retry_ms"], 10, 60000, &c->arp_retry_ms));
    if (a.exists("max_retries")) CHECK_OK(ck.Uint(a["max_retries"], 1, 100, &c->arp_max_retries));
    if (a.exists("table_size")) {
      CHECK_OK(ck.Uint(a["table_size"], 64, 1u << 20, &c->arp_table_size));
    }
  }

  if (root.exists("buffers")) {
    const Setting& b = root["buffers"];
    CHECK_OK(ck.Keys(b, {"mbufs", "rx_desc", "tx_desc"}));
    if (b.exists("mbufs")) CHECK_OK(ck.Uint(b["mbufs"], 1023, 1u << 22, &c->mbufs));
    if (b.exists("rx_desc")) CHECK_OK(ck.Uint(b["rx_desc"], 64, 16384, &c->rx_desc));
    if (b.exists("tx_desc")) CHECK_OK(ck.Uint(b["tx_desc"], 64, 16384, &c->tx_desc));
  }

  // Cross-setting rules.
  std::set<unsigned> cores;
  unsigned main_lcore = 0;
  if (ParseCoreList(c->eal_lcores, &cores, &main_lcore)) {
    for (size_t i = 0; i < c->worker_lcores.size(); ++i) {
      unsigned w = c->worker_lcores[i];
      const Setting* at = &root;
      if (root.exists("workers") && root["workers"].exists("lcores")) {
        at = &root["workers"]["lcores"][static_cast<int>(i)];
      }
      if (!cores.count(w)) {
        return ck.Error(*at, absl::StrCat("worker lcore ", w, " is not in eal.lcores \"",
                                          c->eal_lcores, "\""));
      }
      if (w == main_lcore) {
        return ck.Error(*at, absl::StrCat("worker lcore ", w,
                                          " is the main lcore (the first of eal.lcores)"));
      }
    }
  }
  if (c->ports.empty()) {
    return ck.Error(root, "'ports' is missing: the dataplane needs at least one port");
  }
  return absl::OkStatus();
}

}  // namespace

StartupConfig BuiltinStartupConfig() {
  // No NIC needed: two memif server ports on one socket (ids 0 and 1), so a traffic
  // generator or a second DPDK process can attach as memif client; see docs/dataplane.md.
  StartupConfig c;
  c.eal_args = {"--no-pci"};
  c.ports = {
      {"vlan1", "net_memif0,role=server,socket=/run/arsec/memif.sock,id=0", 1500},
      {"ppp0", "net_memif1,role=server,socket=/run/arsec/memif.sock,id=1", 1500},
  };
  return c;
}

absl::StatusOr<StartupConfig> ParseStartupConfig(const std::string& text,
                                                 const std::string& source_name) {
  libconfig::Config cfg;
  try {
    cfg.readString(text);
  } catch (const libconfig::ParseException& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(source_name, ":", e.getLine(), ": syntax error: ", e.getError()));
  } catch (const libconfig::ConfigException& e) {
    return absl::InvalidArgumentError(absl::StrCat(source_name, ":1: ", e.what()));
  }
  StartupConfig c;
  c.source = source_name;
  Checker ck(source_name);
  try {
    absl::Status st = Walk(ck, cfg.getRoot(), &c);
    if (!st.ok()) return st;
  } catch (const libconfig::ConfigException& e) {
    // The walk checks types before converting, so this is a bug guard, not a path.
    return absl::InvalidArgumentError(absl::StrCat(source_name, ":1: ", e.what()));
  }
  return c;
}

absl::StatusOr<StartupConfig> LoadStartupConfig(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat(path, ": cannot open: ", std::strerror(errno)));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return absl::DataLossError(absl::StrCat(path, ": read error"));
  return ParseStartupConfig(ss.str(), path);
}

}  // namespace arsec
