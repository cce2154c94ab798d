// Fuzz entry point for the command-language engine: Parse, Canonical round trip and
// Complete on arbitrary bytes. Link it with clang -fsanitize=fuzzer for real fuzzing;
// built normally (`lang_fuzz`, not built by default) tests/unit/fuzz_file_main.cc runs
// the same checks over each file named on the command line.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "cli/lang/parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view line(reinterpret_cast<const char*>(data), size);
  auto r = arsec::lang::Parse(line);
  if (r.ok() && r->has_value()) {
    // What Canonical writes must parse back to the same command.
    std::string text = arsec::lang::Canonical(**r);
    auto again = arsec::lang::Parse(text);
    if (!again.ok() || !again->has_value() || (*again)->params != (*r)->params ||
        (*again)->object != (*r)->object || (*again)->spec != (*r)->spec) {
      fprintf(stderr, "round trip broke: %s\n", text.c_str());
      abort();
    }
  }
  (void)arsec::lang::Complete(line);
  return 0;
}

