// The SA bundle string grammar and its checks (see bundle_string.h).
#include "cli/lang/bundle_string.h"

#include <algorithm>
#include <cctype>
#include <set>

namespace arsec::lang {
namespace {

std::string At(size_t column) { return " at column " + std::to_string(column); }

absl::Status Fail(const std::string& text) { return absl::InvalidArgumentError(text); }

bool IsBlank(char c) { return c == ' ' || c == '\t'; }
bool IsAlnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

struct Tok {
  enum Kind { kNumber, kAnd, kOr, kComma, kEnd } kind = kEnd;
  uint64_t number = 0;
  std::string text;
  size_t column = 0;  // 1-based
};

class Lexer {
 public:
  explicit Lexer(std::string_view s) : s_(s) {}

  absl::StatusOr<Tok> Next() {
    while (i_ < s_.size() && IsBlank(s_[i_])) ++i_;
    Tok t;
    t.column = i_ + 1;
    if (i_ == s_.size()) return t;
    char c = s_[i_];
    if (c == ',') {
      ++i_;
      t.kind = Tok::kComma;
      t.text = ",";
      return t;
    }
    if (!IsAlnum(c)) {
      std::string shown = std::isprint(static_cast<unsigned char>(c)) ? std::string(1, c) : "?";
      return Fail("unexpected \"" + shown + "\"" + At(t.column));
    }
    size_t start = i_;
    while (i_ < s_.size() && IsAlnum(s_[i_])) ++i_;
    t.text = std::string(s_.substr(start, i_ - start));
    if (std::all_of(t.text.begin(), t.text.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
      t.kind = Tok::kNumber;
      size_t nz = t.text.find_first_not_of('0');
      std::string digits = nz == std::string::npos ? "0" : t.text.substr(nz);
      if (digits.size() > 10) {
        t.number = UINT64_MAX;
      } else {
        for (char d : digits) t.number = t.number * 10 + static_cast<uint64_t>(d - '0');
      }
      return t;
    }
    std::string lower = t.text;
    for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (lower == "and") t.kind = Tok::kAnd;
    else if (lower == "or") t.kind = Tok::kOr;
    else return Fail("unexpected \"" + t.text + "\"" + At(t.column));
    return t;
  }

 private:
  std::string_view s_;
  size_t i_ = 0;
};

class Parser {
 public:
  explicit Parser(std::string_view s) : lex_(s) {}

  absl::StatusOr<BundleString> Run() {
    if (auto st = Advance(); !st.ok()) return st;
    if (tok_.kind == Tok::kEnd) return Fail("the string is empty");
    BundleString b;
    for (;;) {
      auto p = Proposal();
      if (!p.ok()) return p.status();
      b.proposals.push_back(*std::move(p));
      if (tok_.kind == Tok::kEnd) return b;
      if (tok_.kind != Tok::kComma)
        return Fail("expected \"and\", \"or\", \",\" or the end" + At(tok_.column));
      if (auto st = Advance(); !st.ok()) return st;
    }
  }

 private:
  absl::Status Advance() {
    auto t = lex_.Next();
    if (!t.ok()) return t.status();
    tok_ = *std::move(t);
    return absl::OkStatus();
  }

  absl::StatusOr<uint32_t> Id() {
    if (tok_.kind != Tok::kNumber) {
      std::string what = tok_.kind == Tok::kEnd ? "the end" : "\"" + tok_.text + "\"";
      return Fail("expected an SA specification number, not " + what + At(tok_.column));
    }
    if (tok_.number > kMaxSaSpecId)
      return Fail("SA specification " + tok_.text + " is out of range (0.." +
                  std::to_string(kMaxSaSpecId) + ")" + At(tok_.column));
    uint32_t id = static_cast<uint32_t>(tok_.number);
    if (!seen_.insert(id).second)
      return Fail("SA specification " + std::to_string(id) + " appears twice in one proposal" +
                  At(tok_.column));
    return id;
  }

  absl::StatusOr<BundleSlot> Slot() {
    BundleSlot s;
    for (;;) {
      size_t column = tok_.column;
      auto id = Id();
      if (!id.ok()) return id.status();
      s.spec_ids.push_back(*id);
      s.columns.push_back(column);
      if (auto st = Advance(); !st.ok()) return st;
      if (tok_.kind != Tok::kOr) return s;
      if (auto st = Advance(); !st.ok()) return st;
    }
  }

  absl::StatusOr<BundleProposal> Proposal() {
    BundleProposal p;
    p.column = tok_.column;
    seen_.clear();
    for (;;) {
      auto s = Slot();
      if (!s.ok()) return s.status();
      p.slots.push_back(*std::move(s));
      if (tok_.kind != Tok::kAnd) return p;
      if (auto st = Advance(); !st.ok()) return st;
    }
  }

  Lexer lex_;
  Tok tok_;
  std::set<uint32_t> seen_;
};

}  // namespace

absl::StatusOr<BundleString> ParseBundleString(std::string_view text) {
  return Parser(text).Run();
}

std::string FormatBundleString(const BundleString& b) {
  std::string out;
  for (size_t p = 0; p < b.proposals.size(); ++p) {
    if (p > 0) out += ", ";
    const auto& slots = b.proposals[p].slots;
    for (size_t s = 0; s < slots.size(); ++s) {
      if (s > 0) out += " and ";
      for (size_t i = 0; i < slots[s].spec_ids.size(); ++i) {
        if (i > 0) out += " or ";
        out += std::to_string(slots[s].spec_ids[i]);
      }
    }
  }
  return out;
}

absl::Status CheckBundleShape(const BundleString& b, KeyManagement keyman) {
  if (keyman != KeyManagement::kManual) return absl::OkStatus();
  for (size_t p = 0; p < b.proposals.size(); ++p) {
    if (p > 0)
      return Fail("\",\" (alternative proposals) needs KEYMANAGEMENT=ISAKMP" +
                  At(b.proposals[p].column));
    for (const auto& s : b.proposals[p].slots)
      if (s.spec_ids.size() > 1)
        return Fail("\"or\" (alternative SA specifications) needs KEYMANAGEMENT=ISAKMP" +
                    At(s.columns[1]));
  }
  return absl::OkStatus();
}

absl::Status ValidateBundle(const BundleString& b, KeyManagement keyman,
                            const SaSpecLookup& lookup) {
  if (auto st = CheckBundleShape(b, keyman); !st.ok()) return st;
  auto keyman_name = [](KeyManagement k) {
    return std::string(k == KeyManagement::kManual ? "MANUAL" : "ISAKMP");
  };
  for (const auto& p : b.proposals) {
    std::vector<SaProtocol> protocols;  // one per slot
    for (size_t si = 0; si < p.slots.size(); ++si) {
      const BundleSlot& s = p.slots[si];
      std::optional<SaProtocol> slot_protocol;
      uint32_t first_id = 0;
      for (size_t i = 0; i < s.spec_ids.size(); ++i) {
        uint32_t id = s.spec_ids[i];
        std::string sid = std::to_string(id);
        std::optional<SaSpecInfo> info = lookup ? lookup(id) : std::nullopt;
        if (!info) return Fail("SA specification " + sid + " does not exist" + At(s.columns[i]));
        if (info->keyman != keyman)
          return Fail("SA specification " + sid + " has KEYMANAGEMENT=" + keyman_name(info->keyman) +
                      ", the bundle " + keyman_name(keyman) + At(s.columns[i]));
        if (!slot_protocol) {
          slot_protocol = info->protocol;
          first_id = id;
        } else if (*slot_protocol != info->protocol) {
          return Fail("\"or\" joins SA specifications of different protocols (" +
                      std::to_string(first_id) + " is " + std::string(SaProtocolName(*slot_protocol)) +
                      ", " + sid + " is " + std::string(SaProtocolName(info->protocol)) + ")" +
                      At(s.columns[i]));
        }
      }
      for (size_t prev = 0; prev < protocols.size(); ++prev)
        if (protocols[prev] == *slot_protocol)
          return Fail("\"and\" joins two " + std::string(SaProtocolName(*slot_protocol)) +
                      " SA specifications (" + std::to_string(p.slots[prev].spec_ids[0]) +
                      " and " + std::to_string(s.spec_ids[0]) + ")" + At(s.columns[0]));
      if (*slot_protocol == SaProtocol::kComp && si > 0)
        return Fail("IPComp SA specification " + std::to_string(s.spec_ids[0]) +
                    " must come first in its proposal" + At(s.columns[0]));
      protocols.push_back(*slot_protocol);
    }
  }
  return absl::OkStatus();
}

std::vector<uint32_t> BundleSpecIds(const BundleString& b) {
  std::set<uint32_t> ids;
  for (const auto& p : b.proposals)
    for (const auto& s : p.slots) ids.insert(s.spec_ids.begin(), s.spec_ids.end());
  return {ids.begin(), ids.end()};
}

std::optional<KeyManagement> KeyManagementFromKeyword(std::string_view kw) {
  if (kw == "ISAKMP") return KeyManagement::kIsakmp;
  if (kw == "MANUAL") return KeyManagement::kManual;
  return std::nullopt;
}

std::optional<SaProtocol> SaProtocolFromKeyword(std::string_view kw) {
  if (kw == "AH") return SaProtocol::kAh;
  if (kw == "ESP") return SaProtocol::kEsp;
  if (kw == "COMP") return SaProtocol::kComp;
  return std::nullopt;
}

std::string_view SaProtocolName(SaProtocol p) {
  switch (p) {
    case SaProtocol::kAh: return "AH";
    case SaProtocol::kEsp: return "ESP";
    case SaProtocol::kComp: return "IPComp";
  }
  return "?";
}

}  // namespace arsec::lang
