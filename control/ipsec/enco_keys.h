// The ENCO key store: the secret keys CREATE ENCO KEY makes (manual SA keys, ISAKMP
// pre-shared keys), kept apart from the configuration scripts.
//
// Why apart: on the AR, keys live in the ENCO module's own secure store, never in a
// config file; SHOW CONFIG and CREATE CONFIG print no key material. arsec does the same:
// the keys are saved to one key-store file (mode 0600) beside the config directory and
// loaded when arsec-control starts, before any script is replayed, so SA specifications
// that name a key find it. The file is the store's own line format (Serialize/Load), not
// a command script, so nothing that replays scripts ever sees a key.
//
// Key bytes sit in SecretBytes (common/secret_bytes.h), which wipes them when they go away.
// Nothing in this file logs or formats key bytes except Serialize (the file) and
// ValueText (SHOW ENCO KEY=n, which the controller gates by privilege).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/secret_bytes.h"

namespace arsec::control {

enum class EncoKeyType : uint8_t { kGeneral, kDes, k3Des, kAes128, kAes192, kAes256 };

absl::string_view EncoKeyTypeName(EncoKeyType t);   // "GENERAL", "DES", "3DES", ...
std::optional<EncoKeyType> EncoKeyTypeFromKeyword(absl::string_view kw);
// Bytes a key of this type has; 0 for GENERAL (any length 1..128).
size_t EncoKeyTypeLength(EncoKeyType t);

inline constexpr uint32_t kMaxEncoKeyId = 65535;
inline constexpr size_t kMaxGeneralKeyLen = 128;

struct EncoKey {
  uint32_t id = 0;
  EncoKeyType type = EncoKeyType::kGeneral;
  SecretBytes value;
  bool as_string = false;   // VALUE was a quoted string: SHOW prints it as well
  bool random = false;      // made by RANDOM
  std::string description;
};

class EncoKeyStore {
 public:
  // CREATE ENCO KEY. `value` is the command's stored VALUE ("0x..." hex, or the string);
  // nullopt with `random` makes the key with RAND_bytes (LENGTH for GENERAL).
  absl::Status Create(uint32_t id, EncoKeyType type, std::optional<std::string> value,
                      bool random, std::optional<uint32_t> length,
                      absl::string_view description);
  absl::Status Destroy(uint32_t id);
  const EncoKey* Find(uint32_t id) const;
  const std::map<uint32_t, EncoKey>& keys() const { return keys_; }
  void Clear() {
    keys_.clear();
    secrets_.clear();
  }

  // ---- named secrets of other modules: an ISAKMP policy's XAUTHPASS
  // ("isakmp.xauthpass.<policy>", isakmp_model.h). They share the key file, so they get
  // its 0600 protection and its life cycle: loaded before any script is replayed, never
  // in a configuration script, written whenever the keys are.
  void SetSecret(absl::string_view name, absl::string_view value);
  // True when there was one.
  bool EraseSecret(absl::string_view name);
  const SecretBytes* FindSecret(absl::string_view name) const;
  const std::map<std::string, SecretBytes>& secrets() const { return secrets_; }

  // The key file: a header comment, then one line per key and one per secret:
  //   key <id> <TYPE> <hex value> <s|h><r|-> <description as hex>
  //   secret <name as hex> <hex value>
  std::string Serialize() const;
  // Replaces the store with the file's keys and secrets; a malformed line is an error
  // naming its number (and never its contents).
  absl::Status Load(absl::string_view text);

  // SHOW ENCO KEY=n: the value as the seed prints it, 0x and hex digits (upper case for
  // cipher keys, lower case for GENERAL ones), preceded by the string for a key given as
  // a string.
  static std::string ValueText(const EncoKey& k);

 private:
  std::map<uint32_t, EncoKey> keys_;
  std::map<std::string, SecretBytes> secrets_;
};

}  // namespace arsec::control
