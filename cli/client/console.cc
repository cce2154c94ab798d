// The interactive console (see console.h).
//
// libedit reads keys through our own get-character function so that it can wait on the
// terminal and the server socket at once: a NOTE frame (debug output) that arrives while
// the user is typing is printed above the line being edited, which is then redrawn, as
// router consoles do. TAB and `?` are libedit editor functions bound to those keys; both
// ask lang::Complete() what may follow the text left of the cursor.
#include "cli/client/console.h"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <cwchar>
#include <histedit.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include "cli/lang/parser.h"
#include "cli/lang/tokenizer.h"
#include "common/cli_protocol.h"

namespace arsec::cli {
namespace {

namespace proto = ::arsec::cli_protocol;

struct ConsoleState {
  Connection* conn = nullptr;
  std::string prompt;
  bool lost = false;          // the server went away while we waited for a key
  std::string lost_reason;
  mbstate_t mb{};
};

ConsoleState* StateOf(EditLine* el) {
  void* p = nullptr;
  el_get(el, EL_CLIENTDATA, &p);
  return static_cast<ConsoleState*>(p);
}

const char* PromptFn(EditLine* el) { return StateOf(el)->prompt.c_str(); }

void PrintNote(const std::string& body) {
  fputs(body.c_str(), stdout);
  if (body.empty() || body.back() != '\n') fputc('\n', stdout);
  fflush(stdout);
}

// libedit's key source: waits on stdin and on the socket.
int GetChar(EditLine* el, wchar_t* out) {
  ConsoleState* st = StateOf(el);
  while (true) {
    pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {st->conn->fd(), POLLIN, 0}};
    int r = ::poll(fds, 2, -1);
    if (r < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (fds[1].revents != 0) {
      bool printed = false;
      while (true) {
        auto f = st->conn->Read(/*wait=*/false);
        if (!f.ok()) {
          st->lost = true;
          st->lost_reason = std::string(f.status().message());
          return 0;  // end of input: el_gets returns and the loop reports it
        }
        if (!f->has_value()) break;
        if ((*f)->verb == proto::kNote) {
          if (!printed) fputs("\r\033[K", stdout);  // clear the half-typed line first
          PrintNote((*f)->body);
          printed = true;
        }
        // An OK/ERR with no request pending is ignored: nothing waits for it.
      }
      if (printed) el_set(el, EL_REFRESH);
      if (fds[0].revents == 0) continue;
    }
    if (fds[0].revents != 0) {
      unsigned char c;
      ssize_t n = ::read(STDIN_FILENO, &c, 1);
      if (n < 0) {
        if (errno == EINTR) continue;
        return -1;
      }
      if (n == 0) return 0;
      wchar_t wc;
      size_t k = mbrtowc(&wc, reinterpret_cast<const char*>(&c), 1, &st->mb);
      if (k == static_cast<size_t>(-2)) continue;  // more bytes of this character follow
      if (k == static_cast<size_t>(-1)) {
        st->mb = mbstate_t{};
        wc = static_cast<wchar_t>(c);
      }
      *out = wc;
      return 1;
    }
  }
}

std::string LeftOfCursor(EditLine* el) {
  const LineInfo* li = el_line(el);
  return std::string(li->buffer, static_cast<size_t>(li->cursor - li->buffer));
}

// The partial word that a candidate replaces: after the last blank or '='.
size_t PartialStart(const std::string& prefix) {
  size_t p = prefix.find_last_of(" \t=");
  return p == std::string::npos ? 0 : p + 1;
}

bool StartsWithIgnoreCase(const std::string& s, const std::string& prefix) {
  if (prefix.size() > s.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i)
    if (std::toupper(static_cast<unsigned char>(s[i])) != std::toupper(static_cast<unsigned char>(prefix[i])))
      return false;
  return true;
}

void ListCandidates(const std::vector<lang::Candidate>& cands, bool with_help) {
  fputc('\n', stdout);
  if (with_help) {
    size_t w = 0;
    for (const auto& c : cands) w = std::max(w, c.text.size());
    for (const auto& c : cands) printf("  %-*s  %s\n", static_cast<int>(w), c.text.c_str(), c.help.c_str());
  } else {
    size_t col = 0;
    for (const auto& c : cands) {
      if (col + c.text.size() + 2 > 78 && col > 0) {
        fputc('\n', stdout);
        col = 0;
      }
      printf("%s  ", c.text.c_str());
      col += c.text.size() + 2;
    }
    fputc('\n', stdout);
  }
  fflush(stdout);
}

void ReplacePartial(EditLine* el, size_t partial_len, const std::string& text) {
  el_deletestr(el, static_cast<int>(partial_len));
  el_insertstr(el, text.c_str());
}

unsigned char CompleteKey(EditLine* el, int) {
  std::string prefix = LeftOfCursor(el);
  auto lexed = lang::Tokenize(prefix, /*partial=*/true);
  if (lexed.ok() && lexed->open_quote) return CC_REFRESH_BEEP;
  std::vector<lang::Candidate> cands = lang::Complete(prefix);
  size_t start = PartialStart(prefix);
  std::string partial = prefix.substr(start);
  if (cands.empty()) return CC_REFRESH_BEEP;
  if (cands.size() == 1) {
    std::string text = cands[0].text;
    if (text.back() != '=') text += ' ';
    ReplacePartial(el, partial.size(), text);
    return CC_REFRESH;
  }
  std::string common = cands[0].text;
  for (const auto& c : cands) {
    size_t i = 0;
    while (i < common.size() && i < c.text.size() && common[i] == c.text[i]) ++i;
    common.resize(i);
  }
  if (common.size() > partial.size() && StartsWithIgnoreCase(common, partial)) {
    ReplacePartial(el, partial.size(), common);
    return CC_REFRESH;
  }
  ListCandidates(cands, /*with_help=*/false);
  return CC_REDISPLAY;
}

unsigned char HelpKey(EditLine* el, int) {
  std::string prefix = LeftOfCursor(el);
  auto lexed = lang::Tokenize(prefix, /*partial=*/true);
  if (lexed.ok() && lexed->open_quote) {  // a '?' inside a quoted string is just a '?'
    el_insertstr(el, "?");
    return CC_REFRESH;
  }
  std::vector<lang::Candidate> cands = lang::Complete(prefix);
  bool at_word_start = prefix.empty() || prefix.back() == ' ' || prefix.back() == '\t';
  auto parsed = lang::Parse(prefix);
  if (at_word_start && parsed.ok() && parsed->has_value())
    cands.push_back({"<cr>", "run the command"});
  if (cands.empty()) {
    fputc('\n', stdout);
    if (!parsed.ok()) printf("  %s\n", std::string(parsed.status().message()).c_str());
    else printf("  (nothing may follow here)\n");
    fflush(stdout);
    return CC_REDISPLAY;
  }
  ListCandidates(cands, /*with_help=*/true);
  return CC_REDISPLAY;
}

// Ctrl-C abandons the line being typed, as on a router console, instead of the session.
unsigned char CancelKey(EditLine* el, int) {
  const LineInfo* li = el_line(el);
  el_cursor(el, static_cast<int>(li->lastchar - li->cursor));
  el_deletestr(el, static_cast<int>(li->lastchar - li->buffer));
  fputs("^C\n", stdout);
  fflush(stdout);
  return CC_REDISPLAY;
}

std::string Trim(const char* line) {
  std::string s(line);
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

bool OnlyBlanksOrComment(const std::string& s) {
  auto lexed = lang::Tokenize(s);
  return lexed.ok() && lexed->tokens.empty();
}

}  // namespace

std::string PromptFor(const std::string& login_reply) {
  std::string p = login_reply;
  while (!p.empty() && (p.back() == '\n' || p.back() == ' ')) p.pop_back();
  if (p.empty()) p = "arsec";
  if (p.back() != '>') p += " >";
  return p + " ";
}

int RunConsole(Connection& conn, const std::string& prompt, const std::string& history_path) {
  ConsoleState st;
  st.conn = &conn;
  st.prompt = PromptFor(prompt);

  // A router console ignores Ctrl-C at the prompt rather than dying with the session.
  struct sigaction ign{};
  ign.sa_handler = SIG_IGN;
  sigaction(SIGINT, &ign, nullptr);

  EditLine* el = el_init("arsec", stdin, stdout, stderr);
  History* hist = history_init();
  HistEvent ev;
  history(hist, &ev, H_SETSIZE, 1000);
  history(hist, &ev, H_SETUNIQUE, 1);
  if (!history_path.empty()) history(hist, &ev, H_LOAD, history_path.c_str());

  el_set(el, EL_CLIENTDATA, &st);
  el_set(el, EL_EDITOR, "emacs");
  el_set(el, EL_SIGNAL, 1);
  el_set(el, EL_PROMPT, PromptFn);
  el_set(el, EL_HIST, history, hist);
  el_set(el, EL_GETCFN, GetChar);
  el_set(el, EL_ADDFN, "arsec-complete", "complete a keyword or parameter", CompleteKey);
  el_set(el, EL_ADDFN, "arsec-help", "list what may come next", HelpKey);
  el_set(el, EL_BIND, "^I", "arsec-complete", nullptr);
  el_set(el, EL_BIND, "?", "arsec-help", nullptr);
  // With ISIG off in the editing tty mode, Ctrl-C arrives as a key rather than SIGINT.
  el_set(el, EL_SETTY, "-d", "-isig", nullptr);
  el_set(el, EL_ADDFN, "arsec-cancel", "abandon the line", CancelKey);
  el_set(el, EL_BIND, "^C", "arsec-cancel", nullptr);
  el_source(el, nullptr);  // the user's ~/.editrc, if any

  int status = 0;
  while (true) {
    int count = 0;
    const char* raw = el_gets(el, &count);
    if (raw == nullptr || count <= 0) {
      if (st.lost) {
        fprintf(stderr, "\narsec: %s\n", st.lost_reason.c_str());
        status = 2;
      } else {
        fputc('\n', stdout);
        (void)conn.Send(proto::kBye, "");
      }
      break;
    }
    std::string line = Trim(raw);
    if (OnlyBlanksOrComment(line)) continue;
    auto parsed = lang::Parse(line);
    bool secret = parsed.ok() ? (parsed->has_value() && lang::HasSecret(**parsed))
                              : lang::MayHoldSecret(line);
    if (!secret) {
      history(hist, &ev, H_ENTER, line.c_str());
      if (!history_path.empty()) {
        mode_t old = umask(077);
        history(hist, &ev, H_SAVE, history_path.c_str());
        umask(old);
      }
    }
    if (parsed.ok() && parsed->has_value() && (*parsed)->spec->id == lang::CommandId::kLogoff) {
      (void)conn.Send(proto::kBye, "");
      break;
    }
    auto reply = conn.Request(proto::kExec, line, PrintNote);
    if (!reply.ok()) {
      fprintf(stderr, "arsec: %s\n", std::string(reply.status().message()).c_str());
      status = 2;
      break;
    }
    if (!reply->body.empty()) PrintNote(reply->body);
  }
  el_end(el);
  history_end(hist);
  return status;
}

}  // namespace arsec::cli
