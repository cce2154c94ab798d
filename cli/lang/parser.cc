// Parsing, checking and completing AR command lines against the command table.
//
// One walk over the words serves Parse and Complete alike: at each position the typed
// word is compared, case-insensitively, with the next words of the commands still in
// play and with the parameters of a command that is already complete there. An exact
// spelling wins over prefixes (SHOW IP is not SHOW IPSEC); otherwise the prefix must be
// unique or the error names every candidate. Parameter values are checked by type, and
// every error is the AR reply line itself so arsec-control can print it unchanged.
#include "cli/lang/parser.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "cli/lang/bundle_string.h"
#include "cli/lang/messages.h"
#include "cli/lang/tokenizer.h"

namespace arsec::lang {
namespace {

// Debian's Abseil has its own string_view type; these keep std::string_view at our API.
absl::string_view AV(std::string_view s) { return absl::string_view(s.data(), s.size()); }
std::string Upper(std::string_view s) { return absl::AsciiStrToUpper(AV(s)); }
std::string Lower(std::string_view s) { return absl::AsciiStrToLower(AV(s)); }
bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return absl::EqualsIgnoreCase(AV(a), AV(b));
}
bool PrefixOf(std::string_view typed, std::string_view full) {
  return typed.size() <= full.size() && EqualsIgnoreCase(typed, full.substr(0, typed.size()));
}
template <typename C>
std::string Join(const C& parts, std::string_view sep) {
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) out.append(sep);
    out.append(std::string_view(p));
  }
  return out;
}

// Candidates for one typed name: the exact match alone, or every name it prefixes.
// `names` are canonical; `exact_only` extra spellings (aliases) match only in full.
struct NameMatch {
  std::vector<std::string_view> hits;  // distinct canonical names
  bool exact = false;
};
NameMatch MatchNames(std::string_view typed,
                     const std::vector<std::pair<std::string_view, std::string_view>>& names) {
  // names: (spelling, canonical)
  NameMatch m;
  for (const auto& [spelling, canonical] : names) {
    if (EqualsIgnoreCase(typed, spelling)) {
      m.hits = {canonical};
      m.exact = true;
      return m;
    }
  }
  if (typed.empty()) return m;
  for (const auto& [spelling, canonical] : names) {
    if (spelling != canonical) continue;  // aliases are exact spellings only
    if (PrefixOf(typed, spelling) &&
        std::find(m.hits.begin(), m.hits.end(), canonical) == m.hits.end())
      m.hits.push_back(canonical);
  }
  return m;
}

std::string JoinCandidates(const std::vector<std::string_view>& v) {
  return Join(v, ", ");
}

std::vector<std::pair<std::string_view, std::string_view>> ParamNames(const CommandSpec& spec) {
  std::vector<std::pair<std::string_view, std::string_view>> out;
  for (const auto& p : spec.params) {
    out.emplace_back(p.name, p.name);
    for (auto a : p.aliases) out.emplace_back(a, p.name);
  }
  return out;
}

const ParamSpec* FindParam(const CommandSpec& spec, std::string_view canonical) {
  for (const auto& p : spec.params)
    if (p.name == canonical) return &p;
  return nullptr;
}

// Where the walk over the command words ended.
struct WordWalk {
  std::vector<const CommandSpec*> cands;  // commands whose words matched so far
  size_t depth = 0;                       // words consumed (== tokens consumed)
  bool object_given = false;              // the last word carried `=value`
  bool at_params = false;                 // tokens[depth] is a parameter, not a word
};

const CommandSpec* CompleteAt(const WordWalk& w) {
  for (const auto* c : w.cands)
    if (c->words.size() == w.depth) return c;
  return nullptr;
}

std::vector<std::string_view> NextWords(const WordWalk& w) {
  std::vector<std::string_view> out;
  for (const auto* c : w.cands)
    if (c->words.size() > w.depth &&
        std::find(out.begin(), out.end(), c->words[w.depth]) == out.end())
      out.push_back(c->words[w.depth]);
  return out;
}

std::string TypedSoFar(const std::vector<Token>& toks, size_t n) {
  std::vector<std::string> parts;
  for (size_t i = 0; i < n && i < toks.size(); ++i) parts.push_back(Upper(toks[i].name));
  return Join(parts, " ");
}

// Consumes command words from toks[0..ntoks). Stops at the first parameter, after an
// object value, or when ntoks are used.
absl::Status WalkWords(const std::vector<Token>& toks, size_t ntoks,
                       const std::vector<CommandSpec>& table, WordWalk& w) {
  for (const auto& c : table) w.cands.push_back(&c);
  while (w.depth < ntoks && !w.object_given) {
    const Token& tok = toks[w.depth];
    if (tok.name_quoted) return ErrorStatus(Module::kLang, Msg::kUnexpectedToken, tok.name);
    std::vector<std::string_view> words = NextWords(w);
    const CommandSpec* complete = CompleteAt(w);
    if (words.empty()) {
      w.at_params = true;
      return absl::OkStatus();
    }
    std::vector<std::pair<std::string_view, std::string_view>> names;
    for (auto word : words) names.emplace_back(word, word);
    size_t nwords = names.size();
    if (complete != nullptr)
      for (const auto& n : ParamNames(*complete)) names.push_back(n);
    NameMatch m = MatchNames(tok.name, names);
    bool is_word = false;
    if (m.hits.size() == 1) {
      for (size_t i = 0; i < nwords; ++i)
        if (names[i].first == m.hits[0]) is_word = true;
      if (!is_word) {
        w.at_params = true;
        return absl::OkStatus();
      }
    } else if (m.hits.size() > 1) {
      return ErrorStatus(Module::kLang, Msg::kAmbiguous, Upper(tok.name), JoinCandidates(m.hits));
    } else if (complete != nullptr) {
      w.at_params = true;  // an unknown parameter: reported by the caller with its name
      return absl::OkStatus();
    } else {
      return ErrorStatus(Module::kLang, Msg::kUnknownCommand, TypedSoFar(toks, w.depth + 1));
    }
    std::string_view word = m.hits[0];
    std::vector<const CommandSpec*> next;
    for (const auto* c : w.cands)
      if (c->words.size() > w.depth && c->words[w.depth] == word) next.push_back(c);
    if (tok.has_value) {
      // Only the last word of a command may carry a value (CREATE CONFIG=file).
      std::vector<const CommandSpec*> with_object;
      for (const auto* c : next)
        if (c->words.size() == w.depth + 1 && c->object_value != CommandSpec::ObjectValue::kNone)
          with_object.push_back(c);
      if (with_object.empty()) return ErrorStatus(Module::kLang, Msg::kValueNotAllowed, word);
      next = std::move(with_object);
      w.object_given = true;
    }
    w.cands = std::move(next);
    ++w.depth;
  }
  return absl::OkStatus();
}

bool IsNameChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
}

bool ValidInterface(std::string_view s) {
  // letters, digits (unit), optional -digits (logical interface): eth0, vlan1, ppp0-1
  size_t i = 0;
  while (i < s.size() && std::isalpha(static_cast<unsigned char>(s[i]))) ++i;
  if (i == 0) return false;
  size_t d = i;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
  if (i == d) return false;
  if (i == s.size()) return true;
  if (s[i] != '-') return false;
  size_t l = ++i;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
  return i > l && i == s.size();
}

uint64_t MaxLen(const ParamSpec& p, uint64_t fallback) {
  return p.max == UINT32_MAX ? fallback : p.max;
}

// Checks one value against its parameter and returns the stored form.
// Matches a keyword value (or one of its exact aliases); errors name the parameter.
absl::StatusOr<std::string> MatchKeyword(const ParamSpec& p, std::string_view name,
                                         std::string_view v, Module mod) {
  std::vector<std::pair<std::string_view, std::string_view>> names;
  for (auto k : p.keywords) names.emplace_back(k, k);
  for (const auto& a : p.keyword_aliases) names.push_back(a);
  NameMatch m = MatchNames(v, names);
  if (m.hits.size() == 1) return std::string(m.hits[0]);
  if (m.hits.size() > 1)
    return ErrorStatus(mod, Msg::kAmbiguousValue, name, Upper(v), JoinCandidates(m.hits));
  return ErrorStatus(mod, Msg::kBadKeyword, name, v, ValueSyntax(p));
}

bool AllDigits(std::string_view v) {
  return !v.empty() && std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; });
}

absl::StatusOr<uint64_t> CheckUint(const ParamSpec& p, std::string_view name, std::string_view v,
                                   Module mod) {
  if (!AllDigits(v)) return ErrorStatus(mod, Msg::kNotNumber, name);
  size_t nz = v.find_first_not_of('0');
  std::string_view digits = nz == std::string_view::npos ? "0" : v.substr(nz);
  uint64_t n = 0;
  if (digits.size() > 19 || !absl::SimpleAtoi(AV(digits), &n) || n < p.min || n > p.max)
    return ErrorStatus(mod, Msg::kOutOfRange, name, p.min, p.max);
  return n;
}

absl::StatusOr<std::string> CheckValue(const ParamSpec& p, std::string_view name,
                                       std::string_view v, bool quoted, Module mod) {
  switch (p.type) {
    case ValueType::kNone:
      return ErrorStatus(mod, Msg::kValueNotAllowed, name);
    case ValueType::kKeyword:
      return MatchKeyword(p, name, v, mod);
    case ValueType::kUint: {
      auto n = CheckUint(p, name, v, mod);
      if (!n.ok()) return n.status();
      return absl::StrCat(*n);
    }
    case ValueType::kKeywordOrUint: {
      if (!AllDigits(v)) return MatchKeyword(p, name, v, mod);
      auto n = CheckUint(p, name, v, mod);
      if (!n.ok()) return n.status();
      std::string text = absl::StrCat(*n);
      for (const auto& [spelling, keyword] : p.keyword_aliases)
        if (spelling == text) return std::string(keyword);
      return text;
    }
    case ValueType::kKeywordOrIpv4: {
      if (auto a = ParseIpv4(v)) return FormatIpv4(*a);
      if (!v.empty() && std::isdigit(static_cast<unsigned char>(v[0])))
        return ErrorStatus(mod, Msg::kBadIpv4, name);
      return MatchKeyword(p, name, v, mod);
    }
    case ValueType::kBundleString: {
      uint64_t max = MaxLen(p, 255);
      if (v.size() > max) return ErrorStatus(mod, Msg::kTooLong, name, max);
      auto b = ParseBundleString(v);
      if (!b.ok()) return ErrorStatus(mod, Msg::kBadBundleString, name, b.status().message());
      return FormatBundleString(*b);
    }
    case ValueType::kIpv4: {
      auto a = ParseIpv4(v);
      if (!a) return ErrorStatus(mod, Msg::kBadIpv4, name);
      return FormatIpv4(*a);
    }
    case ValueType::kMask: {
      auto a = ParseIpv4(v);
      if (!a) return ErrorStatus(mod, Msg::kBadMask, name);
      uint32_t inv = ~*a;
      if ((inv & (inv + 1)) != 0) return ErrorStatus(mod, Msg::kBadMask, name);
      return FormatIpv4(*a);
    }
    case ValueType::kName: {
      uint64_t max = MaxLen(p, 64), min = std::max<uint64_t>(p.min, 1);
      if (v.size() > max) return ErrorStatus(mod, Msg::kTooLong, name, max);
      if (v.size() < min) return ErrorStatus(mod, Msg::kTooShort, name, min);
      if (!std::all_of(v.begin(), v.end(), IsNameChar))
        return ErrorStatus(mod, Msg::kBadName, name);
      return std::string(v);
    }
    case ValueType::kString: {
      uint64_t max = MaxLen(p, 255);
      if (v.size() > max) return ErrorStatus(mod, Msg::kTooLong, name, max);
      if (v.size() < p.min) return ErrorStatus(mod, Msg::kTooShort, name, p.min);
      return std::string(v);
    }
    case ValueType::kBool: {
      std::string u = Upper(v);
      if (u == "TRUE" || u == "YES" || u == "ON") return std::string("TRUE");
      if (u == "FALSE" || u == "NO" || u == "OFF") return std::string("FALSE");
      return ErrorStatus(mod, Msg::kBadBool, name);
    }
    case ValueType::kHexOrString: {
      uint64_t max = MaxLen(p, 255);
      if (quoted) {
        if (v.size() > max) return ErrorStatus(mod, Msg::kTooLong, name, max);
        return std::string(v);
      }
      if (v.size() < 4 || v.size() % 2 != 0 || !(v[0] == '0' && (v[1] == 'x' || v[1] == 'X')) ||
          !std::all_of(v.begin() + 2, v.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); }))
        return ErrorStatus(mod, Msg::kBadHex, name);
      if ((v.size() - 2) / 2 > max) return ErrorStatus(mod, Msg::kTooLong, name, max);
      return Lower(v);
    }
    case ValueType::kMac: {
      auto mac = ParseMac(v);
      if (!mac) return ErrorStatus(mod, Msg::kBadMac, name);
      return FormatMac(*mac);
    }
    case ValueType::kInterface: {
      uint64_t max = MaxLen(p, 15);
      if (v.size() > max || !ValidInterface(v))
        return ErrorStatus(mod, Msg::kBadInterface, name);
      return Lower(v);
    }
  }
  return ErrorStatus(mod, Msg::kInternalError, "unknown value type");
}

}  // namespace

// ---- ParsedCommand ----

bool ParsedCommand::Has(std::string_view name) const { return params.count(Upper(name)) > 0; }

std::string ParsedCommand::Get(std::string_view name) const {
  auto it = params.find(Upper(name));
  return it == params.end() ? std::string() : it->second;
}

uint64_t ParsedCommand::GetUint(std::string_view name, uint64_t fallback) const {
  auto it = params.find(Upper(name));
  uint64_t v;
  if (it == params.end() || !absl::SimpleAtoi(it->second, &v)) return fallback;
  return v;
}

uint32_t ParsedCommand::GetIpv4(std::string_view name, uint32_t fallback) const {
  auto it = params.find(Upper(name));
  if (it == params.end()) return fallback;
  return ParseIpv4(it->second).value_or(fallback);
}

bool ParsedCommand::GetBool(std::string_view name, bool fallback) const {
  auto it = params.find(Upper(name));
  if (it == params.end()) return fallback;
  if (it->second == "TRUE") return true;
  if (it->second == "FALSE") return false;
  return fallback;
}

// ---- helpers ----

std::optional<uint32_t> ParseIpv4(std::string_view text) {
  uint32_t addr = 0;
  int octets = 0;
  size_t i = 0;
  while (octets < 4) {
    size_t start = i;
    uint32_t v = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9' && i - start < 3)
      v = v * 10 + static_cast<uint32_t>(text[i++] - '0');
    if (i == start || v > 255) return std::nullopt;
    addr = (addr << 8) | v;
    ++octets;
    if (octets < 4) {
      if (i >= text.size() || text[i] != '.') return std::nullopt;
      ++i;
    }
  }
  if (i != text.size()) return std::nullopt;
  return addr;
}

std::string FormatIpv4(uint32_t a) {
  return absl::StrFormat("%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
}

std::optional<std::array<uint8_t, 6>> ParseMac(std::string_view text) {
  if (text.size() != 17) return std::nullopt;
  const char sep = text[2];
  if (sep != '-' && sep != ':') return std::nullopt;
  std::array<uint8_t, 6> mac{};
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < 6; ++i) {
    const size_t at = i * 3;
    const int hi = hex(text[at]), lo = hex(text[at + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    if (i < 5 && text[at + 2] != sep) return std::nullopt;
    mac[i] = static_cast<uint8_t>(hi * 16 + lo);
  }
  return mac;
}

std::string FormatMac(const std::array<uint8_t, 6>& m) {
  return absl::StrFormat("%02x-%02x-%02x-%02x-%02x-%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

uint32_t NaturalMask(uint32_t addr) {
  if (addr == 0) return 0;
  if ((addr >> 31) == 0) return 0xff000000u;      // class A
  if ((addr >> 30) == 0b10) return 0xffff0000u;   // class B
  if ((addr >> 29) == 0b110) return 0xffffff00u;  // class C
  return 0xffffffffu;                             // D/E: host
}

const CommandSpec* FindCommand(CommandId id, const std::vector<CommandSpec>& table) {
  for (const auto& c : table)
    if (c.id == id) return &c;
  return nullptr;
}

std::string CommandName(const CommandSpec& spec) { return Join(spec.words, " "); }

std::string ValueSyntax(const ParamSpec& p) {
  switch (p.type) {
    case ValueType::kNone: return "";
    case ValueType::kKeyword: return Join(p.keywords, "|");
    case ValueType::kUint: return absl::StrCat(p.min, "..", p.max);
    case ValueType::kIpv4: return "ipaddress";
    case ValueType::kMask: return "mask";
    case ValueType::kName: return absl::StrCat("name (1..", MaxLen(p, 64), " chars)");
    case ValueType::kString: return absl::StrCat("\"string\" (", p.min, "..", MaxLen(p, 255), " chars)");
    case ValueType::kBool: return "TRUE|FALSE";
    case ValueType::kHexOrString: return "0xhex|\"string\"";
    case ValueType::kInterface: return "interface";
    case ValueType::kKeywordOrUint:
      return absl::StrCat(Join(p.keywords, "|"), "|", p.min, "..", p.max);
    case ValueType::kKeywordOrIpv4: return absl::StrCat("ipaddress|", Join(p.keywords, "|"));
    case ValueType::kBundleString: return "\"bundle-string\"";
    case ValueType::kMac: return "xx-xx-xx-xx-xx-xx";
  }
  return "";
}

std::string InfoLine(int code, std::string_view text) {
  bool stop = !text.empty() && (text.back() == '.' || text.back() == '?' || text.back() == '!');
  return absl::StrFormat("Info (%06d): %s%s", code, text, stop ? "" : ".");
}

std::string ErrorLine(int code, std::string_view text) {
  bool stop = !text.empty() && (text.back() == '.' || text.back() == '?' || text.back() == '!');
  return absl::StrFormat("Error (%06d): %s%s", code, text, stop ? "" : ".");
}

// ---- parameter rules ----

namespace {

bool CondHolds(const ParamCond& c, const ParsedCommand& cmd) {
  auto it = cmd.params.find(std::string(c.param));
  if (c.values.empty()) return c.negate ? it == cmd.params.end() : it != cmd.params.end();
  if (it == cmd.params.end()) return false;
  bool in = std::find(c.values.begin(), c.values.end(), std::string_view(it->second)) != c.values.end();
  return c.negate ? !in : in;
}

// What the user gave: "PROTOCOL=ESP", "LPORT=500", a flag or a secret alone, or "no X".
std::string GivenText(const ParamCond& c, const ParsedCommand& cmd) {
  auto it = cmd.params.find(std::string(c.param));
  if (it == cmd.params.end()) return absl::StrCat("no ", AV(c.param));
  const ParamSpec* p = cmd.spec ? FindParam(*cmd.spec, c.param) : nullptr;
  if (it->second.empty() || (p && p->secret)) return std::string(c.param);  // never echo a secret
  return absl::StrCat(AV(c.param), "=", it->second);
}

std::string ValuesText(const ParamCond& c) {
  std::string vals = Join(c.values, "|");
  return c.negate ? absl::StrCat("other than ", vals) : vals;
}

absl::Status CheckRule(const ParamRule& r, const ParsedCommand& cmd, Module mod) {
  for (const auto& c : r.when)
    if (!CondHolds(c, cmd)) return absl::OkStatus();
  bool holds = CondHolds(r.then, cmd);
  std::vector<std::string> when;
  for (const auto& c : r.when) when.push_back(GivenText(c, cmd));
  std::string with = Join(when, " and ");
  if (r.kind == ParamRule::Kind::kRequires) {
    if (holds) return absl::OkStatus();
    if (r.then.values.empty() && !r.then.negate)
      return ErrorStatus(mod, Msg::kRequiredWith, r.then.param, with);
    if (r.then.values.empty())  // "requires X absent": a forbid in disguise
      return ErrorStatus(mod, Msg::kNotAllowedWith, r.then.param, with);
    return ErrorStatus(mod, Msg::kMustBeWith, r.then.param, ValuesText(r.then), with);
  }
  if (!holds) return absl::OkStatus();
  if (r.then.values.empty() && !r.then.negate)
    return ErrorStatus(mod, Msg::kNotAllowedWith, r.then.param, with);
  if (r.then.values.empty())  // "forbids X absent": X is required
    return ErrorStatus(mod, Msg::kRequiredWith, r.then.param, with);
  const ParamSpec* p = cmd.spec ? FindParam(*cmd.spec, r.then.param) : nullptr;
  std::string value = p && p->secret ? std::string("that value") : cmd.Get(r.then.param);
  return ErrorStatus(mod, Msg::kCannotBeWith, r.then.param, value, with);
}

}  // namespace

std::string RuleText(const ParamRule& r) {
  auto cond = [](const ParamCond& c) {
    if (c.values.empty()) return c.negate ? absl::StrCat(AV(c.param), " not given") : std::string(c.param);
    if (c.negate) return absl::StrCat(AV(c.param), " other than ", Join(c.values, "|"));
    return absl::StrCat(AV(c.param), "=", Join(c.values, "|"));
  };
  std::vector<std::string> when;
  for (const auto& c : r.when) when.push_back(cond(c));
  std::string out = absl::StrCat("With ", Join(when, " and "), ": ");
  bool must = r.kind == ParamRule::Kind::kRequires;
  if (r.then.values.empty() && r.then.negate) must = !must;
  if (r.then.values.empty()) {
    absl::StrAppend(&out, AV(r.then.param), must ? " is required" : " is not allowed");
  } else {
    std::string vals = Join(r.then.values, "|");
    bool be = must != r.then.negate;   // requires X=A, or forbids X other than A
    absl::StrAppend(&out, AV(r.then.param), be ? " must be " : " cannot be ", vals);
  }
  return out;
}

// ---- Parse ----

absl::StatusOr<std::optional<ParsedCommand>> Parse(std::string_view line,
                                                   const std::vector<CommandSpec>& table) {
  if (line.size() > kMaxLineLength)
    return ErrorStatus(Module::kLang, Msg::kLineTooLong, kMaxLineLength);
  auto lexed = Tokenize(line);
  if (!lexed.ok()) return lexed.status();
  const std::vector<Token>& toks = lexed->tokens;
  if (toks.empty()) return std::optional<ParsedCommand>();

  WordWalk w;
  if (absl::Status st = WalkWords(toks, toks.size(), table, w); !st.ok()) return st;
  const CommandSpec* spec = CompleteAt(w);
  if (spec == nullptr) {
    std::vector<std::string_view> next = NextWords(w);
    return ErrorStatus(Module::kLang, Msg::kIncomplete, Join(next, " or "));
  }

  ParsedCommand cmd;
  cmd.spec = spec;
  const Module mod = spec->module;  // errors from here on are the command module's
  const Token& last = toks[w.depth - 1];
  std::string_view objname = spec->words.back();
  if (spec->object_value == CommandSpec::ObjectValue::kRequired && !last.has_value)
    return ErrorStatus(mod, Msg::kValueRequired, objname);
  if (last.has_value) {
    if (last.value_missing) return ErrorStatus(mod, Msg::kValueRequired, objname);
    auto v = CheckValue(spec->object, objname, last.value, last.value_quoted, mod);
    if (!v.ok()) return v.status();
    cmd.object = *std::move(v);
  }

  const auto names = ParamNames(*spec);
  for (size_t i = w.depth; i < toks.size(); ++i) {
    const Token& tok = toks[i];
    if (tok.name_quoted) return ErrorStatus(mod, Msg::kUnexpectedToken, tok.name);
    NameMatch m = MatchNames(tok.name, names);
    if (m.hits.empty()) return ErrorStatus(mod, Msg::kUnknownParameter, Upper(tok.name));
    if (m.hits.size() > 1)
      return ErrorStatus(mod, Msg::kAmbiguous, Upper(tok.name), JoinCandidates(m.hits));
    const ParamSpec& p = *FindParam(*spec, m.hits[0]);
    std::string pname(p.name);
    if (cmd.params.count(pname)) return ErrorStatus(mod, Msg::kDuplicateParameter, pname);
    std::string value;
    if (p.type == ValueType::kNone) {
      if (tok.has_value) return ErrorStatus(mod, Msg::kValueNotAllowed, pname);
    } else if (!tok.has_value) {
      if (!p.value_optional) return ErrorStatus(mod, Msg::kValueRequired, pname);
    } else {
      if (tok.value_missing) return ErrorStatus(mod, Msg::kValueRequired, pname);
      auto v = CheckValue(p, pname, tok.value, tok.value_quoted, mod);
      if (!v.ok()) return v.status();
      value = *std::move(v);
    }
    cmd.params[pname] = std::move(value);
    cmd.given.push_back(pname);
  }

  for (const auto& p : spec->params)
    if (p.required && !cmd.params.count(std::string(p.name)))
      return ErrorStatus(mod, Msg::kMissingParameter, p.name);
  for (const auto& group : spec->mutually_exclusive) {
    std::vector<std::string_view> present;
    for (auto n : group)
      if (cmd.params.count(std::string(n))) present.push_back(n);
    if (present.size() > 1)
      return ErrorStatus(mod, Msg::kMutuallyExclusive, Join(present, ", "));
  }
  for (const auto& group : spec->one_required) {
    bool any = std::any_of(group.begin(), group.end(),
                           [&](std::string_view n) { return cmd.params.count(std::string(n)) > 0; });
    if (!any) return ErrorStatus(mod, Msg::kOneRequired, Join(group, ", "));
  }

  for (const auto& rule : spec->rules)
    if (absl::Status st = CheckRule(rule, cmd, mod); !st.ok()) return st;
  for (CommandCheck check : spec->checks)
    if (absl::Status st = check(cmd); !st.ok()) return st;

  for (const auto& p : spec->params) {
    std::string pname(p.name);
    if (cmd.params.count(pname)) continue;
    if (!p.default_value.empty()) {
      cmd.params[pname] = std::string(p.default_value);
    } else if (!p.default_mask_of.empty()) {
      std::optional<uint32_t> addr;
      if (p.default_mask_of == spec->object.name && cmd.object) addr = ParseIpv4(*cmd.object);
      else if (cmd.params.count(std::string(p.default_mask_of)))
        addr = ParseIpv4(cmd.params[std::string(p.default_mask_of)]);
      if (addr) cmd.params[pname] = FormatIpv4(NaturalMask(*addr));
    }
  }
  return std::optional<ParsedCommand>(std::move(cmd));
}

// ---- Canonical ----

namespace {
std::string CanonicalImpl(const ParsedCommand& cmd, bool redact) {
  if (cmd.spec == nullptr) return "";
  std::string out = CommandName(*cmd.spec);
  if (cmd.object) absl::StrAppend(&out, "=", QuoteIfNeeded(*cmd.object));
  for (const auto& name : cmd.given) {
    const ParamSpec* p = FindParam(*cmd.spec, name);
    auto it = cmd.params.find(name);
    if (p == nullptr || it == cmd.params.end()) continue;
    if (redact && p->secret) {
      absl::StrAppend(&out, " ", name, "=********");
    } else if (p->type == ValueType::kNone || (p->value_optional && it->second.empty())) {
      absl::StrAppend(&out, " ", name);
    } else if (p->type == ValueType::kHexOrString && it->second.rfind("0x", 0) == 0) {
      absl::StrAppend(&out, " ", name, "=", it->second);
    } else if (p->type == ValueType::kHexOrString || p->type == ValueType::kBundleString) {
      absl::StrAppend(&out, " ", name, "=", Quote(it->second));  // bare would read as hex
    } else {
      absl::StrAppend(&out, " ", name, "=", QuoteIfNeeded(it->second));
    }
  }
  return out;
}

}  // namespace

std::string Canonical(const ParsedCommand& cmd) { return CanonicalImpl(cmd, false); }
std::string Redacted(const ParsedCommand& cmd) { return CanonicalImpl(cmd, true); }

bool HasSecret(const ParsedCommand& cmd) {
  if (cmd.spec == nullptr) return false;
  for (const auto& name : cmd.given)
    if (const ParamSpec* p = FindParam(*cmd.spec, name); p && p->secret) return true;
  return false;
}

bool MayHoldSecret(std::string_view line, const std::vector<CommandSpec>& table) {
  auto lexed = Tokenize(line, /*partial=*/true);
  if (!lexed.ok()) return true;  // cannot tell: assume the worst
  for (const auto& t : lexed->tokens) {
    if (!t.has_value || t.name.empty()) continue;
    for (const auto& spec : table)
      for (const auto& p : spec.params) {
        if (!p.secret) continue;
        if (PrefixOf(t.name, p.name)) return true;
        for (auto a : p.aliases)
          if (EqualsIgnoreCase(t.name, a)) return true;
      }
  }
  return false;
}

// ---- Complete ----

namespace {

void AddIfPrefix(std::vector<Candidate>& out, std::string_view partial, std::string text,
                 std::string help) {
  if (!PrefixOf(partial, text)) return;
  for (const auto& c : out)
    if (c.text == text) return;
  out.push_back({std::move(text), std::move(help)});
}

void ValueCandidates(const ParamSpec& p, std::string_view partial, std::vector<Candidate>& out) {
  if (p.type == ValueType::kKeyword || p.type == ValueType::kKeywordOrUint ||
      p.type == ValueType::kKeywordOrIpv4) {
    for (auto k : p.keywords) AddIfPrefix(out, partial, std::string(k), std::string(p.help));
  } else if (p.type == ValueType::kBool) {
    AddIfPrefix(out, partial, "TRUE", std::string(p.help));
    AddIfPrefix(out, partial, "FALSE", std::string(p.help));
  }
}

// The words that may follow at w.depth; a final word whose command needs a value comes
// as "WORD=", and an intermediate word's help lists what follows it.
void WordCandidates(const WordWalk& w, std::string_view typed, std::vector<Candidate>& out) {
  for (auto word : NextWords(w)) {
    const CommandSpec* final_cmd = nullptr;
    std::vector<std::string_view> after;
    for (const auto* c : w.cands) {
      if (c->words.size() <= w.depth || c->words[w.depth] != word) continue;
      if (c->words.size() == w.depth + 1) {
        final_cmd = c;
      } else if (std::find(after.begin(), after.end(), c->words[w.depth + 1]) == after.end()) {
        after.push_back(c->words[w.depth + 1]);
      }
    }
    std::string text(word);
    std::string help;
    if (final_cmd != nullptr) {
      help = std::string(final_cmd->help);
      if (final_cmd->object_value == CommandSpec::ObjectValue::kRequired && after.empty())
        text += "=";
    } else {
      help = absl::StrCat("then ", Join(after, ", "));
    }
    AddIfPrefix(out, typed, std::move(text), std::move(help));
  }
}

}  // namespace

std::vector<Candidate> Complete(std::string_view line_prefix,
                                const std::vector<CommandSpec>& table) {
  std::vector<Candidate> out;
  if (line_prefix.size() > kMaxLineLength) return out;
  auto lexed = Tokenize(line_prefix, /*partial=*/true);
  if (!lexed.ok()) return out;
  std::vector<Token> toks = lexed->tokens;
  bool has_partial = !toks.empty() && !lexed->trailing_space;
  Token partial;
  if (has_partial) {
    partial = toks.back();
    toks.pop_back();
  }
  if (lexed->comment) return out;  // nothing to complete inside a comment

  WordWalk w;
  if (!WalkWords(toks, toks.size(), table, w).ok()) return out;
  if (w.depth < toks.size()) w.at_params = true;

  if (!w.at_params && !w.object_given) {
    if (has_partial && partial.has_value) {
      // the value of an object word (INTERFACE=...): nothing enumerable except keywords
      WordWalk w2;
      std::vector<Token> with = toks;
      with.push_back(partial);
      if (!WalkWords(with, with.size(), table, w2).ok()) return out;
      if (!w2.at_params) {
        if (const CommandSpec* c = CompleteAt(w2); c && w2.object_given)
          ValueCandidates(c->object, partial.value, out);
        return out;
      }
      // else: NAME=value of a parameter of the command complete here; handled below
    } else {
      WordCandidates(w, has_partial ? std::string_view(partial.name) : std::string_view(), out);
      if (CompleteAt(w) == nullptr) return out;
      // and the parameters of the command already complete at this depth
    }
  }

  const CommandSpec* spec = CompleteAt(w);
  if (spec == nullptr) return out;
  const auto names = ParamNames(*spec);
  std::set<std::string_view> given;
  for (size_t i = w.depth; i < toks.size(); ++i) {
    NameMatch m = MatchNames(toks[i].name, names);
    if (m.hits.size() == 1) given.insert(m.hits[0]);
  }
  if (has_partial && partial.has_value && w.depth <= toks.size()) {
    NameMatch m = MatchNames(partial.name, names);
    if (m.hits.size() == 1) ValueCandidates(*FindParam(*spec, m.hits[0]), partial.value, out);
    return out;
  }
  std::string_view typed = has_partial ? std::string_view(partial.name) : std::string_view();
  for (const auto& p : spec->params) {
    if (given.count(p.name)) continue;
    bool excluded = false;
    for (const auto& group : spec->mutually_exclusive)
      if (std::find(group.begin(), group.end(), p.name) != group.end())
        for (auto n : group)
          if (given.count(n)) excluded = true;
    if (excluded) continue;
    std::string text(p.name);
    if (p.type != ValueType::kNone && !p.value_optional) text += "=";
    AddIfPrefix(out, typed, std::move(text), std::string(p.help));
  }
  return out;
}

}  // namespace arsec::lang
