// The wire protocol between the arsec client and arsec-control's CLI server (a Unix
// stream socket, path from the startup config's control.socket).
//
// Every frame is a header line then a body of exactly the announced size:
//   "<VERB> <nbytes>\n" <nbytes of UTF-8 text>
// Client -> server verbs:
//   LOGIN   body "user\npassword"      -> OK (body: prompt, e.g. "Manager") or ERR
//   EXEC    body one command line      -> OK or ERR; body is the command's output, the
//                                          AR reply lines included ("Info (...)...")
//   BYE     empty                      -> the server closes
// Server -> client verbs: OK, ERR (the request's result), and later NOTE for unsolicited
// console output (debug dumps) that the client prints as it arrives.
// A connection must LOGIN first; any other verb before that gets ERR.
#pragma once

#include <cstddef>

namespace arsec::cli_protocol {

inline constexpr char kLogin[] = "LOGIN";
inline constexpr char kExec[] = "EXEC";
inline constexpr char kBye[] = "BYE";
inline constexpr char kOk[] = "OK";
inline constexpr char kErr[] = "ERR";
inline constexpr char kNote[] = "NOTE";

inline constexpr size_t kMaxHeader = 64;
inline constexpr size_t kMaxBody = 16 * 1024 * 1024;   // a SHOW CONFIG of a large gateway

}  // namespace arsec::cli_protocol
