// Fuzz entry point for the command-language engine: Parse, Canonical round trip and
// Complete on arbitrary bytes. Under libFuzzer (clang -fsanitize=fuzzer
// -DARSEC_LIBFUZZER) it is LLVMFuzzerTestOneInput; built normally (`lang_fuzz`, not
// built by default) it runs the same checks over each file named on the command line.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
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

#ifndef ARSEC_LIBFUZZER
int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::ifstream in(argv[i], std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string s = ss.str();
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  }
  return 0;
}
#endif
