// libFuzzer target of the ISAKMP codec: what the daemon does with a datagram from the
// network before any exchange state is involved. ParseMessage; then every typed parser
// on every payload; then the invariants that make the codec safe to hash over (an
// accepted message and an accepted typed body rebuild byte for byte); then the DEBUG=PKT
// decoder on the payloads. The same input is also read as a decrypted payload area
// (ParseChain after the header) the way the crypto layer hands it over.
//
// meson links it with tests/unit/fuzz_file_main.cc to replay fuzz_corpus/ as a test.
// Real fuzzing, by hand:
//   clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -I. -o /tmp/codec_fuzz
//     tests/unit/ike/codec_fuzz.cc control/ike/isakmp_codec.cc control/ike/isakmp_dump.cc
//     $(pkg-config --cflags --libs absl_status absl_statusor absl_strings absl_str_format)
//   (one command line)
//   /tmp/codec_fuzz -max_total_time=120 tests/unit/ike/fuzz_corpus/
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "control/ike/isakmp_codec.h"
#include "control/ike/isakmp_dump.h"

namespace {

using namespace arsec::ike;

void Check(bool ok) {
  if (!ok) std::abort();
}

void TypedBodies(const std::vector<Payload>& payloads) {
  for (const Payload& p : payloads) {
    const ByteSpan b(p.body);
    switch (p.type) {
      case PayloadType::kSa:
        if (auto sa = ParseSa(b); sa.ok()) Check(BuildSa(*sa) == p.body);
        break;
      case PayloadType::kId:
        if (auto id = ParseId(b); id.ok()) Check(BuildId(*id) == p.body);
        break;
      case PayloadType::kNotify:
        if (auto n = ParseNotify(b); n.ok()) {
          Check(BuildNotify(*n) == p.body);
          (void)ParseAttributes(n->data);
        }
        break;
      case PayloadType::kDelete:
        if (auto d = ParseDelete(b); d.ok()) Check(BuildDelete(*d) == p.body);
        break;
      case PayloadType::kAttr:
        if (auto a = ParseAttr(b); a.ok()) Check(BuildAttr(*a) == p.body);
        break;
      default:
        break;
    }
    // Any body read as an attribute list (the notify data of RESPONDER-LIFETIME is one).
    if (auto attrs = ParseAttributes(b); attrs.ok()) {
      Bytes again;
      AppendAttributes(*attrs, again);
      Check(again == p.body);
      for (const Attribute& a : *attrs) (void)a.AsInt();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const ByteSpan in(data, size);
  auto m = ParseMessage(in);
  if (m.ok()) {
    Check(m->header.length == size);
    Check(BuildMessage(m->header, m->payloads) == Bytes(data, data + size));
    TypedBodies(m->payloads);
    (void)NotifyFor(absl::OkStatus());
    const std::string d = DumpMessage(m->header, m->payloads, false);
    Check(!d.empty());
  } else {
    (void)NotifyFor(m.status());
  }
  // The same bytes as a decrypted area: header, then the chain, padding allowed.
  if (auto h = ParseHeader(in); h.ok() && size > kHeaderLen) {
    auto chain = ParseChain(h->next, in.subspan(kHeaderLen));
    if (chain.ok()) {
      const Bytes rebuilt = BuildChain(*chain);
      Check(rebuilt.size() <= size - kHeaderLen);
      Check(Bytes(data + kHeaderLen, data + kHeaderLen + rebuilt.size()) == rebuilt);
      TypedBodies(*chain);
      (void)DumpMessage(*h, *chain, true);
    }
  }
  (void)DumpRaw(in.subspan(0, size < 256 ? size : 256), true);
  return 0;
}
