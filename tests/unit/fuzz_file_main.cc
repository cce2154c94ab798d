// A main() for the fuzz targets when they are not linked with libFuzzer: it runs
// LLVMFuzzerTestOneInput over each file named on the command line, so a crash found by
// the fuzzer (or a corpus) can be replayed under gdb or the sanitizers with g++ alone.
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::ifstream in(argv[i], std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string s = ss.str();
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  }
  return 0;
}
