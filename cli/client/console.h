// The interactive console: libedit line editing with history, TAB completion and `?`
// help from the local copy of the command table, and NOTE frames printed while idle.
#pragma once

#include <string>

#include "cli/client/connection.h"

namespace arsec::cli {

// Runs until Ctrl-D, LOGOFF/LOGOUT or a lost connection. `prompt` is the LOGIN reply
// ("Manager"). Returns the process exit status: 0, or 2 when the connection failed.
int RunConsole(Connection& conn, const std::string& prompt, const std::string& history_path);

// The console prompt for a LOGIN reply body: "Manager" -> "Manager > ".
std::string PromptFor(const std::string& login_reply);

}  // namespace arsec::cli
