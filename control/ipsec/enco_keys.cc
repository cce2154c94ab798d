// ENCO keys: validation by type, RAND_bytes for RANDOM, the key-file format.
#include "control/ipsec/enco_keys.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace arsec::control {

absl::string_view EncoKeyTypeName(EncoKeyType t) {
  switch (t) {
    case EncoKeyType::kGeneral: return "GENERAL";
    case EncoKeyType::kDes: return "DES";
    case EncoKeyType::k3Des: return "3DES";
    case EncoKeyType::kAes128: return "AES128";
    case EncoKeyType::kAes192: return "AES192";
    case EncoKeyType::kAes256: return "AES256";
  }
  return "GENERAL";
}

std::optional<EncoKeyType> EncoKeyTypeFromKeyword(absl::string_view kw) {
  for (EncoKeyType t : {EncoKeyType::kGeneral, EncoKeyType::kDes, EncoKeyType::k3Des,
                        EncoKeyType::kAes128, EncoKeyType::kAes192, EncoKeyType::kAes256}) {
    if (absl::EqualsIgnoreCase(kw, EncoKeyTypeName(t))) return t;
  }
  return std::nullopt;
}

size_t EncoKeyTypeLength(EncoKeyType t) {
  switch (t) {
    case EncoKeyType::kGeneral: return 0;
    case EncoKeyType::kDes: return 8;
    case EncoKeyType::k3Des: return 24;
    case EncoKeyType::kAes128: return 16;
    case EncoKeyType::kAes192: return 24;
    case EncoKeyType::kAes256: return 32;
  }
  return 0;
}

namespace {

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Hex digits (no 0x) to bytes; nullopt when odd or not hex.
std::optional<std::vector<uint8_t>> FromHex(absl::string_view h) {
  if (h.size() % 2 != 0) return std::nullopt;
  std::vector<uint8_t> out(h.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = HexDigit(h[2 * i]), lo = HexDigit(h[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      OPENSSL_cleanse(out.data(), out.size());
      return std::nullopt;
    }
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return out;
}

std::string ToHex(const uint8_t* p, size_t n, bool upper) {
  static const char kLower[] = "0123456789abcdef";
  static const char kUpper[] = "0123456789ABCDEF";
  const char* d = upper ? kUpper : kLower;
  std::string s;
  s.reserve(2 * n);
  for (size_t i = 0; i < n; ++i) {
    s.push_back(d[p[i] >> 4]);
    s.push_back(d[p[i] & 15]);
  }
  return s;
}

bool IsHexValue(absl::string_view v) {
  return v.size() >= 2 && v[0] == '0' && (v[1] == 'x' || v[1] == 'X');
}

}  // namespace

absl::Status EncoKeyStore::Create(uint32_t id, EncoKeyType type,
                                  std::optional<std::string> value, bool random,
                                  std::optional<uint32_t> length,
                                  absl::string_view description) {
  if (id > kMaxEncoKeyId) return absl::InvalidArgumentError("KEY must be 0..65535");
  if (keys_.count(id)) {
    return absl::AlreadyExistsError(absl::StrCat("ENCO key ", id, " already exists"));
  }
  if (value.has_value() == random) {
    return absl::InvalidArgumentError("Give exactly one of VALUE and RANDOM");
  }
  if (description.size() > 63) {
    return absl::InvalidArgumentError("DESCRIPTION is longer than 63 characters");
  }
  const size_t want = EncoKeyTypeLength(type);
  if (length && type != EncoKeyType::kGeneral) {
    return absl::InvalidArgumentError(absl::StrCat(
        "LENGTH is only for TYPE=GENERAL (a ", EncoKeyTypeName(type), " key is ", want,
        " bytes)"));
  }
  if (length && value) return absl::InvalidArgumentError("LENGTH cannot be used with VALUE");
  EncoKey k;
  k.id = id;
  k.type = type;
  k.description = std::string(description);
  if (random) {
    size_t n = want;
    if (type == EncoKeyType::kGeneral) {
      if (!length) {
        return absl::InvalidArgumentError(
            "LENGTH is required with TYPE=GENERAL RANDOM (the key length in bytes)");
      }
      n = *length;
    }
    if (n < 1 || n > kMaxGeneralKeyLen) {
      return absl::InvalidArgumentError(
          absl::StrCat("LENGTH must be 1..", kMaxGeneralKeyLen, " bytes"));
    }
    std::vector<uint8_t> b(n);
    if (RAND_bytes(b.data(), static_cast<int>(n)) != 1) {
      return absl::InternalError("the random number generator failed");
    }
    k.value = SecretBytes(std::move(b));
    k.random = true;
  } else {
    std::vector<uint8_t> b;
    if (IsHexValue(*value)) {
      auto bytes = FromHex(absl::string_view(*value).substr(2));
      if (!bytes || bytes->empty()) {
        return absl::InvalidArgumentError(
            "VALUE must be 0x followed by pairs of hex digits, or a quoted string");
      }
      b = std::move(*bytes);
    } else {
      b.assign(value->begin(), value->end());
      k.as_string = true;
    }
    OPENSSL_cleanse(value->data(), value->size());
    k.value = SecretBytes(std::move(b));
    if (k.value.empty()) return absl::InvalidArgumentError("VALUE is empty");
    if (want != 0 && k.value.size() != want) {
      return absl::InvalidArgumentError(absl::StrCat(
          "VALUE is ", k.value.size(), " bytes; a ", EncoKeyTypeName(type), " key is ", want,
          " bytes (", 2 * want, " hex digits)"));
    }
    if (k.value.size() > kMaxGeneralKeyLen) {
      return absl::InvalidArgumentError(
          absl::StrCat("VALUE is longer than ", kMaxGeneralKeyLen, " bytes"));
    }
  }
  keys_.emplace(id, std::move(k));
  return absl::OkStatus();
}

absl::Status EncoKeyStore::Destroy(uint32_t id) {
  auto it = keys_.find(id);
  if (it == keys_.end()) {
    return absl::NotFoundError(absl::StrCat("ENCO key ", id, " does not exist"));
  }
  keys_.erase(it);  // SecretBytes wipes the value
  return absl::OkStatus();
}

const EncoKey* EncoKeyStore::Find(uint32_t id) const {
  auto it = keys_.find(id);
  return it == keys_.end() ? nullptr : &it->second;
}

std::string EncoKeyStore::Serialize() const {
  std::string out =
      "# arsec ENCO key store: secret key material (mode 0600). Written by arsec-control;\n"
      "# key <id> <type> <value hex> <flags> <description hex>\n";
  for (const auto& [id, k] : keys_) {
    absl::StrAppend(&out, "key ", id, " ", EncoKeyTypeName(k.type), " ",
                    ToHex(k.value.data(), k.value.size(), false), " ",
                    k.as_string ? "s" : "h", k.random ? "r" : "-", " ",
                    k.description.empty()
                        ? std::string("-")
                        : ToHex(reinterpret_cast<const uint8_t*>(k.description.data()),
                                k.description.size(), false),
                    "\n");
  }
  for (const auto& [name, v] : secrets_) {
    absl::StrAppend(&out, "secret ",
                    ToHex(reinterpret_cast<const uint8_t*>(name.data()), name.size(), false),
                    " ", ToHex(v.data(), v.size(), false), "\n");
  }
  return out;
}

void EncoKeyStore::SetSecret(absl::string_view name, absl::string_view value) {
  secrets_[std::string(name)] =
      SecretBytes(std::vector<uint8_t>(value.begin(), value.end()));
}

bool EncoKeyStore::EraseSecret(absl::string_view name) {
  return secrets_.erase(std::string(name)) != 0;   // SecretBytes wipes the value
}

const SecretBytes* EncoKeyStore::FindSecret(absl::string_view name) const {
  auto it = secrets_.find(std::string(name));
  return it == secrets_.end() ? nullptr : &it->second;
}

absl::Status EncoKeyStore::Load(absl::string_view text) {
  std::map<uint32_t, EncoKey> next;
  std::map<std::string, SecretBytes> next_secrets;
  int lineno = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++lineno;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line.front() == '#') continue;
    std::vector<absl::string_view> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
    auto bad = [&] {
      return absl::DataLossError(absl::StrCat("key store line ", lineno, " is malformed"));
    };
    if (f.size() == 3 && f[0] == "secret") {
      auto name = FromHex(f[1]);
      auto value = FromHex(f[2]);
      if (!name || name->empty() || !value) return bad();
      std::string n(name->begin(), name->end());
      if (next_secrets.count(n)) return bad();
      next_secrets.emplace(std::move(n), SecretBytes(std::move(*value)));
      continue;
    }
    if (f.size() != 6 || f[0] != "key") return bad();
    EncoKey k;
    auto type = EncoKeyTypeFromKeyword(f[2]);
    auto value = FromHex(f[3]);
    if (!absl::SimpleAtoi(f[1], &k.id) || k.id > kMaxEncoKeyId || !type || !value ||
        value->empty() || f[4].size() != 2 || next.count(k.id)) {
      return bad();
    }
    k.type = *type;
    k.value = SecretBytes(std::move(*value));
    const size_t want = EncoKeyTypeLength(k.type);
    if (want != 0 && k.value.size() != want) return bad();
    k.as_string = f[4][0] == 's';
    k.random = f[4][1] == 'r';
    if (f[5] != "-") {
      auto d = FromHex(f[5]);
      if (!d) return bad();
      k.description.assign(d->begin(), d->end());
    }
    next.emplace(k.id, std::move(k));
  }
  keys_ = std::move(next);
  secrets_ = std::move(next_secrets);
  return absl::OkStatus();
}

std::string EncoKeyStore::ValueText(const EncoKey& k) {
  std::string out;
  if (k.as_string) {
    out.assign(reinterpret_cast<const char*>(k.value.data()), k.value.size());
    out += "\n";
  }
  absl::StrAppend(&out, "0x",
                  ToHex(k.value.data(), k.value.size(), k.type != EncoKeyType::kGeneral), "\n");
  return out;
}

}  // namespace arsec::control
