// arsec-control: the configuration owner and CLI server, a DPDK secondary process.
//
// Start-up: read the startup config shared with the dataplane, wait for the dataplane's
// EAL and shared objects, attach as a secondary (no device probing of our own), reconcile
// the dataplane with our configuration (docs/control.md), then serve the CLI socket until
// SIGTERM/SIGINT or until the dataplane goes away.
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/startup_config.h"
#include "control/cli_server.h"
#include "control/config/persistence.h"
#include "control/controller.h"
#include "control/dp_events.h"
#include "control/ike/ike_daemon.h"
#include "control/ike/ring_transport.h"
#include "control/ike_link.h"
#include "control/ring_dataplane_client.h"

namespace {

void Usage(FILE* out) {
  std::fprintf(out,
               "usage: arsec-control [--config FILE] [--socket PATH] [--boot-config FILE]\n"
               "                     [--config-dir DIR] [--wait SECONDS]\n"
               "  --config FILE       startup config (libconfig), the same file the dataplane reads\n"
               "  --socket PATH       CLI socket (default: control.socket of the startup config)\n"
               "  --boot-config FILE  script replayed at start (wins over SET CONFIG's choice)\n"
               "  --config-dir DIR    where CREATE/SET CONFIG files and boot.name live\n"
               "                      (default: the directory of control.boot_config)\n"
               "  --wait SECONDS      how long to wait for the dataplane (default 30)\n"
               "  --eal-log-level L   EAL --log-level for this process (default lib.eal:warning)\n");
}

// Where the DPDK primary keeps its runtime files (EAL's eal_get_runtime_dir()).
std::string DpdkRuntimeDir(const std::string& prefix) {
  std::string base = "/var/run";
  if (getuid() != 0) {
    const char* xdg = std::getenv("XDG_RUNTIME_DIR");
    base = xdg ? xdg : "/tmp";
  }
  return absl::StrCat(base, "/dpdk/", prefix);
}

// True when a primary holds the write lock on its EAL config file: rte_eal_init of a
// secondary can only be tried once per process, so we do not try it before that.
bool PrimaryRunning(const std::string& prefix) {
  const std::string path = DpdkRuntimeDir(prefix) + "/config";
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct flock lk{};
  lk.l_type = F_WRLCK;
  lk.l_whence = SEEK_SET;
  const bool locked = ::fcntl(fd, F_GETLK, &lk) == 0 && lk.l_type != F_UNLCK;
  ::close(fd);
  return locked;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace arsec;
  using namespace arsec::control;

  std::string config_path, socket_path, boot_config, config_dir;
  int wait_s = 30;
  std::string eal_log_level = "lib.eal:warning";
  static const option kLong[] = {
      {"config", required_argument, nullptr, 'c'},
      {"socket", required_argument, nullptr, 's'},
      {"boot-config", required_argument, nullptr, 'b'},
      {"config-dir", required_argument, nullptr, 'd'},
      {"wait", required_argument, nullptr, 'w'},
      {"eal-log-level", required_argument, nullptr, 'l'},
      {"help", no_argument, nullptr, 'h'},
      {nullptr, 0, nullptr, 0},
  };
  for (int c; (c = getopt_long(argc, argv, "c:s:b:d:w:l:h", kLong, nullptr)) != -1;) {
    switch (c) {
      case 'c': config_path = optarg; break;
      case 's': socket_path = optarg; break;
      case 'b': boot_config = optarg; break;
      case 'd': config_dir = optarg; break;
      case 'w':
        if (!absl::SimpleAtoi(optarg, &wait_s) || wait_s < 0 || wait_s > 3600) {
          std::fprintf(stderr, "arsec-control: --wait needs 0..3600 seconds\n");
          return 2;
        }
        break;
      case 'l': eal_log_level = optarg; break;
      case 'h': Usage(stdout); return 0;
      default: Usage(stderr); return 2;
    }
  }
  if (optind != argc) {
    Usage(stderr);
    return 2;
  }

  StartupConfig cfg;
  if (config_path.empty()) {
    cfg = BuiltinStartupConfig();
  } else {
    auto loaded = LoadStartupConfig(config_path);
    if (!loaded.ok()) {
      std::fprintf(stderr, "arsec-control: %s\n", std::string(loaded.status().message()).c_str());
      return 2;
    }
    cfg = *loaded;
  }
  if (socket_path.empty()) socket_path = cfg.control_socket;
  if (config_dir.empty()) {
    config_dir = !cfg.boot_config.empty() && cfg.boot_config.front() == '/'
                     ? DirName(cfg.boot_config)
                     : std::string("/etc/arsec");
  }

  // One control process per socket: a second one must not re-sync the dataplane under the
  // feet of the first. The lock lives as long as the process (the fd is never closed).
  if (absl::Status s = MakeDirs(DirName(socket_path)); !s.ok()) {
    std::fprintf(stderr, "arsec-control: %s\n", std::string(s.message()).c_str());
    return 2;
  }
  const std::string lock_path = socket_path + ".lock";
  int lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd < 0 || ::flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    std::fprintf(stderr, "arsec-control: another arsec-control is running for %s (lock %s)\n",
                 socket_path.c_str(), lock_path.c_str());
    return 2;
  }

  // Signals are taken by sigwait in main; block them before EAL and our threads start so
  // every thread inherits the mask.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  signal(SIGPIPE, SIG_IGN);

  const absl::Time deadline = absl::Now() + absl::Seconds(wait_s);
  bool said = false;
  while (!PrimaryRunning(cfg.file_prefix)) {
    if (absl::Now() >= deadline) {
      std::fprintf(stderr,
                   "arsec-control: the dataplane is not running: no DPDK primary with file "
                   "prefix \"%s\" (%s/config) after %d s\n",
                   cfg.file_prefix.c_str(), DpdkRuntimeDir(cfg.file_prefix).c_str(), wait_s);
      return 3;
    }
    if (!said) {
      std::fprintf(stderr, "arsec-control: waiting for arsec-dataplane (file prefix %s)...\n",
                   cfg.file_prefix.c_str());
      said = true;
    }
    absl::SleepFor(absl::Milliseconds(200));
  }

  // A secondary needs no devices of its own: --no-pci, and none of the startup config's
  // eal.args (they carry the primary's --vdev/-a options).
  std::vector<std::string> eal = {argv[0], "--proc-type=secondary", "--file-prefix",
                                  cfg.file_prefix, "-l", cfg.control_lcores, "--no-pci",
                                  "--no-telemetry", "--log-level=" + eal_log_level};
  std::vector<char*> eal_argv;
  for (auto& a : eal) eal_argv.push_back(a.data());
  eal_argv.push_back(nullptr);
  if (rte_eal_init(static_cast<int>(eal.size()), eal_argv.data()) < 0) {
    std::fprintf(stderr, "arsec-control: cannot attach to the dataplane as a DPDK secondary: %s\n",
                 rte_strerror(rte_errno));
    return 3;
  }

  auto client = RingDataplaneClient::Attach(
      std::max(absl::Seconds(1), deadline - absl::Now()));
  if (!client.ok()) {
    std::fprintf(stderr, "arsec-control: %s\n", std::string(client.status().message()).c_str());
    rte_eal_cleanup();
    return 3;
  }

  LogBuffer log(2000, /*echo_stderr=*/true);
  ControllerOptions opts;
  opts.config_dir = config_dir;
  opts.default_boot = cfg.boot_config;
  opts.boot_override = boot_config;
  opts.snapshot_path = absl::StrCat(DirName(socket_path), "/", cfg.file_prefix, ".running.cfg");
  Controller controller(client->get(), &log, opts);
  int rc = 0;
  if (absl::Status s = controller.Start(); !s.ok()) {
    std::fprintf(stderr, "arsec-control: reconcile with the dataplane failed: %s\n",
                 std::string(s.message()).c_str());
    rte_eal_cleanup();
    return 3;
  }

  // The IKE daemon: datagrams through the dataplane's IKE rings, negotiated SAs into
  // the IPsec model through IkeLink, configuration snapshots from the controller.
  auto ike_transport = ike::RingTransport::Attach(absl::Seconds(5));
  if (!ike_transport.ok()) {
    std::fprintf(stderr, "arsec-control: %s\n", std::string(ike_transport.status().message()).c_str());
    rte_eal_cleanup();
    return 3;
  }
  IkeLink ike_link(&controller);
  ike::IkeDaemon ike_daemon(ike_transport->get(), &ike_link,
                            [&log](int sev, const std::string& stype, const std::string& line) {
                              log.Add(sev, "ISAK", "IKMP", stype, line);
                            });
  ike_daemon.Start();
  controller.SetIkeService(&ike_daemon, &ike_link);

  std::map<uint16_t, std::string> port_names;
  controller.WithModel([&](const ConfigModel& m) {
    for (const auto& [name, id] : m.ports()) port_names[id] = name;
    return 0;
  });
  DataplaneEvents events((*client)->event_ring(), (*client)->pool(), &log, port_names,
                         &controller);
  events.SetAcquireHandler([&controller](const msg::AcquireEvent& e) { controller.OnAcquire(e); });
  events.Start();

  CliServer server(&controller, &log);
  if (absl::Status s = server.Start(socket_path); !s.ok()) {
    std::fprintf(stderr, "arsec-control: %s\n", std::string(s.message()).c_str());
    events.Stop();
    controller.SetIkeService(nullptr, nullptr);
    ike_daemon.Stop();
    rte_eal_cleanup();
    return 2;
  }
  log.Add(3, "SYST", "REST", "MSG", absl::StrCat("CLI listening on ", socket_path));

  for (;;) {
    timespec ts{1, 0};
    int sig = sigtimedwait(&sigs, nullptr, &ts);
    if (sig == SIGINT || sig == SIGTERM) break;
    if (!rte_eal_primary_proc_alive(nullptr)) {
      log.Add(2, "SYST", "REST", "ERR", "The dataplane has exited; arsec-control stops");
      rc = 4;
      break;
    }
  }
  server.Stop();
  events.Stop();
  controller.SetIkeService(nullptr, nullptr);
  ike_daemon.Stop();
  if (rc == 0) {
    // A batch of IPsec changes may still be pending (the SPD is flushed in batches).
    if (absl::Status s = controller.FlushPending(); !s.ok()) {
      log.Add(4, "CONF", "CONF", "ERR", absl::StrCat("Final flush: ", s.message()));
    }
  }
  rte_eal_cleanup();
  return rc;
}
