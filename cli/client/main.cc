// arsec: the appliance's CLI client.
//
// Batch use runs `-c COMMAND` and `-f SCRIPT` in the order given and exits non-zero if
// any command fails; without them it opens the interactive console. Either way it logs
// in first as an appliance user: from --user/--password, else ARSEC_USER/ARSEC_PASSWORD,
// else by asking on the terminal (never a built-in default account). Exit status:
// 0 all commands succeeded, 1 a command failed, 2 no session (usage, connection, login).
#include <getopt.h>
#include <termios.h>
#include <unistd.h>

#include <clocale>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "cli/client/connection.h"
#include "cli/client/console.h"
#include "cli/lang/parser.h"
#include "cli/lang/reference.h"
#include "cli/lang/tokenizer.h"
#include "common/cli_protocol.h"
#include "common/startup_config.h"

namespace {

namespace proto = ::arsec::cli_protocol;
using arsec::cli::Connection;

constexpr char kDefaultSocket[] = "/run/arsec/arsec.sock";

void Usage(FILE* out) {
  fprintf(out,
          "usage: arsec [--socket PATH | --config FILE] [--user NAME] [--password PW]\n"
          "             [-c COMMAND]... [-f SCRIPT]... [--stop-on-error]\n"
          "       arsec --reference\n"
          "  --socket PATH    arsec-control's CLI socket (default %s, or $ARSEC_SOCKET)\n"
          "  --config FILE    take the socket from a startup config's control.socket\n"
          "  --user NAME      appliance user (default $ARSEC_USER, else asked)\n"
          "  --password PW    password (default $ARSEC_PASSWORD, else asked without echo)\n"
          "  -c COMMAND       run one command (repeatable, in order)\n"
          "  -f SCRIPT        run a script: one command a line, # comments (repeatable)\n"
          "  --stop-on-error  stop batch work at the first failing command\n"
          "  --reference      print the command reference (Markdown) and exit\n"
          "Without -c/-f: the interactive console (TAB completes, ? lists what may follow,\n"
          "Ctrl-D or LOGOFF ends). Exit status: 0 ok, 1 a command failed, 2 no session.\n",
          kDefaultSocket);
}

struct Job {
  bool is_file;
  std::string text;  // the command, or the script path
};

std::string ReadTtyLine(const char* prompt, bool echo) {
  fputs(prompt, stdout);
  fflush(stdout);
  termios old{};
  bool restore = false;
  if (!echo && isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old) == 0) {
    termios t = old;
    t.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &t);
    restore = true;
  }
  std::string line;
  std::getline(std::cin, line);
  if (restore) {
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
    fputc('\n', stdout);
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

void PrintBody(const std::string& body) {
  if (body.empty()) return;
  fputs(body.c_str(), stdout);
  if (body.back() != '\n') fputc('\n', stdout);
  fflush(stdout);
}

// Runs one command; true when the server answered OK. A lost connection is fatal.
bool RunCommand(Connection& conn, const std::string& line, bool* fatal) {
  auto reply = conn.Request(proto::kExec, line, PrintBody);
  if (!reply.ok()) {
    fprintf(stderr, "arsec: %s\n", std::string(reply.status().message()).c_str());
    *fatal = true;
    return false;
  }
  PrintBody(reply->body);
  return reply->ok;
}

bool IsLogoff(const std::string& line) {
  auto p = arsec::lang::Parse(line);
  return p.ok() && p->has_value() && (*p)->spec->id == arsec::lang::CommandId::kLogoff;
}

}  // namespace

int main(int argc, char** argv) {
  setlocale(LC_CTYPE, "");
  std::string socket_path, config_path, user, password;
  bool have_user = false, have_password = false, stop_on_error = false;
  std::vector<Job> jobs;

  enum { kOptSocket = 256, kOptConfig, kOptUser, kOptPassword, kOptStop, kOptReference, kOptHelp };
  static const option kOptions[] = {
      {"socket", required_argument, nullptr, kOptSocket},
      {"config", required_argument, nullptr, kOptConfig},
      {"user", required_argument, nullptr, kOptUser},
      {"password", required_argument, nullptr, kOptPassword},
      {"stop-on-error", no_argument, nullptr, kOptStop},
      {"reference", no_argument, nullptr, kOptReference},
      {"help", no_argument, nullptr, kOptHelp},
      {nullptr, 0, nullptr, 0},
  };
  int opt;
  while ((opt = getopt_long(argc, argv, "c:f:s:u:p:h", kOptions, nullptr)) != -1) {
    switch (opt) {
      case 'c': jobs.push_back({false, optarg}); break;
      case 'f': jobs.push_back({true, optarg}); break;
      case 's': case kOptSocket: socket_path = optarg; break;
      case kOptConfig: config_path = optarg; break;
      case 'u': case kOptUser: user = optarg; have_user = true; break;
      case 'p': case kOptPassword: password = optarg; have_password = true; break;
      case kOptStop: stop_on_error = true; break;
      case kOptReference: fputs(arsec::lang::CommandReferenceMarkdown().c_str(), stdout); return 0;
      case 'h': case kOptHelp: Usage(stdout); return 0;
      default: Usage(stderr); return 2;
    }
  }
  if (optind < argc) {
    fprintf(stderr, "arsec: unexpected argument \"%s\" (commands go in -c \"...\")\n", argv[optind]);
    Usage(stderr);
    return 2;
  }

  if (socket_path.empty() && !config_path.empty()) {
    auto cfg = arsec::LoadStartupConfig(config_path);
    if (!cfg.ok()) {
      fprintf(stderr, "arsec: %s\n", std::string(cfg.status().message()).c_str());
      return 2;
    }
    socket_path = cfg->control_socket;
  }
  if (socket_path.empty()) {
    const char* env = getenv("ARSEC_SOCKET");
    socket_path = env != nullptr && *env != '\0' ? env : kDefaultSocket;
  }
  if (!have_user) {
    if (const char* env = getenv("ARSEC_USER"); env != nullptr && *env != '\0') {
      user = env;
      have_user = true;
    }
  }
  if (!have_password) {
    if (const char* env = getenv("ARSEC_PASSWORD"); env != nullptr) {
      password = env;
      have_password = true;
    }
  }
  bool tty = isatty(STDIN_FILENO) != 0;
  bool interactive = jobs.empty();

  // Read scripts before connecting, so a missing file fails fast and changes nothing.
  struct Line {
    std::string text, where;
  };
  std::vector<Line> lines;
  for (size_t i = 0; i < jobs.size(); ++i) {
    if (!jobs[i].is_file) {
      lines.push_back({jobs[i].text, "command " + std::to_string(i + 1)});
      continue;
    }
    std::ifstream in(jobs[i].text);
    if (!in) {
      fprintf(stderr, "arsec: cannot read script %s\n", jobs[i].text.c_str());
      return 2;
    }
    std::string l;
    for (int n = 1; std::getline(in, l); ++n) {
      if (!l.empty() && l.back() == '\r') l.pop_back();
      auto lexed = arsec::lang::Tokenize(l);
      if (lexed.ok() && lexed->tokens.empty()) continue;  // blank or comment
      lines.push_back({l, jobs[i].text + ":" + std::to_string(n)});
    }
  }

  auto conn = Connection::Open(socket_path);
  if (!conn.ok()) {
    fprintf(stderr, "arsec: %s\n", std::string(conn.status().message()).c_str());
    return 2;
  }

  // Log in. Only a terminal may be asked; batch jobs without a terminal must say who.
  std::string prompt;
  for (int attempt = 1;; ++attempt) {
    bool asked = false;
    if (!have_user) {
      if (!tty) {
        fprintf(stderr, "arsec: no user: give --user (or ARSEC_USER)\n");
        return 2;
      }
      user = ReadTtyLine("login: ", true);
      asked = true;
    }
    if (!have_password) {
      if (!tty) {
        fprintf(stderr, "arsec: no password: give --password (or ARSEC_PASSWORD)\n");
        return 2;
      }
      password = ReadTtyLine("Password: ", false);
      asked = true;
    }
    auto reply = conn->Request(proto::kLogin, user + "\n" + password, PrintBody);
    if (!reply.ok()) {
      fprintf(stderr, "arsec: %s\n", std::string(reply.status().message()).c_str());
      return 2;
    }
    if (reply->ok) {
      prompt = reply->body;
      break;
    }
    std::string why = reply->body.empty() ? "Login incorrect" : reply->body;
    while (!why.empty() && why.back() == '\n') why.pop_back();
    fprintf(stderr, "arsec: login failed: %s\n", why.c_str());
    if (!asked || attempt >= 3) return 2;
    have_user = have_password = false;
  }

  if (interactive) {
    std::string history;
    if (const char* home = getenv("HOME"); home != nullptr && *home != '\0')
      history = std::string(home) + "/.arsec_history";
    return arsec::cli::RunConsole(*conn, prompt, history);
  }

  int status = 0;
  for (const auto& l : lines) {
    if (IsLogoff(l.text)) break;
    bool fatal = false;
    if (!RunCommand(*conn, l.text, &fatal)) {
      if (fatal) return 2;
      // Name the place, never the line: it may hold a password.
      fprintf(stderr, "arsec: %s failed\n", l.where.c_str());
      status = 1;
      if (stop_on_error) break;
    }
  }
  (void)conn->Send(proto::kBye, "");
  return status;
}
