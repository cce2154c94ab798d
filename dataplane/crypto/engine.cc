// Algorithm facts shared by every engine (key, IV, block and ICV lengths, names).
#include "dataplane/crypto/engine.h"

namespace arsec::crypto {

size_t CipherKeyLen(CipherAlg c) {
  switch (c) {
    case CipherAlg::kNull: return 0;
    case CipherAlg::kDesCbc: return 8;
    case CipherAlg::k3desCbc: return 24;
    case CipherAlg::kAes128Cbc: return 16;
    case CipherAlg::kAes192Cbc: return 24;
    case CipherAlg::kAes256Cbc: return 32;
    case CipherAlg::kAes128Gcm: return 16 + 4;
    case CipherAlg::kAes192Gcm: return 24 + 4;
    case CipherAlg::kAes256Gcm: return 32 + 4;
  }
  return 0;
}

size_t CipherIvLen(CipherAlg c) {
  switch (c) {
    case CipherAlg::kNull: return 0;
    case CipherAlg::kDesCbc:
    case CipherAlg::k3desCbc: return 8;
    case CipherAlg::kAes128Cbc:
    case CipherAlg::kAes192Cbc:
    case CipherAlg::kAes256Cbc: return 16;
    case CipherAlg::kAes128Gcm:
    case CipherAlg::kAes192Gcm:
    case CipherAlg::kAes256Gcm: return 8;
  }
  return 0;
}

size_t CipherBlockLen(CipherAlg c) {
  switch (c) {
    case CipherAlg::kDesCbc:
    case CipherAlg::k3desCbc: return 8;
    case CipherAlg::kAes128Cbc:
    case CipherAlg::kAes192Cbc:
    case CipherAlg::kAes256Cbc: return 16;
    default: return 1;
  }
}

size_t DefaultDigestLen(CipherAlg c, AuthAlg a) {
  if (IsAead(c)) return 16;
  switch (a) {
    case AuthAlg::kNull: return 0;
    case AuthAlg::kHmacMd5_96:
    case AuthAlg::kHmacSha1_96: return 12;
    case AuthAlg::kHmacSha256_128: return 16;
    case AuthAlg::kHmacSha384_192: return 24;
    case AuthAlg::kHmacSha512_256: return 32;
  }
  return 0;
}

size_t AuthKeyLen(AuthAlg a) {
  switch (a) {
    case AuthAlg::kNull: return 0;
    case AuthAlg::kHmacMd5_96: return 16;
    case AuthAlg::kHmacSha1_96: return 20;
    case AuthAlg::kHmacSha256_128: return 32;
    case AuthAlg::kHmacSha384_192: return 48;
    case AuthAlg::kHmacSha512_256: return 64;
  }
  return 0;
}

std::string_view CipherName(CipherAlg c) {
  switch (c) {
    case CipherAlg::kNull: return "NULL";
    case CipherAlg::kDesCbc: return "DES-CBC";
    case CipherAlg::k3desCbc: return "3DES-CBC";
    case CipherAlg::kAes128Cbc: return "AES-128-CBC";
    case CipherAlg::kAes192Cbc: return "AES-192-CBC";
    case CipherAlg::kAes256Cbc: return "AES-256-CBC";
    case CipherAlg::kAes128Gcm: return "AES-128-GCM";
    case CipherAlg::kAes192Gcm: return "AES-192-GCM";
    case CipherAlg::kAes256Gcm: return "AES-256-GCM";
  }
  return "?";
}

std::string_view AuthName(AuthAlg a) {
  switch (a) {
    case AuthAlg::kNull: return "NULL";
    case AuthAlg::kHmacMd5_96: return "HMAC-MD5-96";
    case AuthAlg::kHmacSha1_96: return "HMAC-SHA1-96";
    case AuthAlg::kHmacSha256_128: return "HMAC-SHA2-256-128";
    case AuthAlg::kHmacSha384_192: return "HMAC-SHA2-384-192";
    case AuthAlg::kHmacSha512_256: return "HMAC-SHA2-512-256";
  }
  return "?";
}

}  // namespace arsec::crypto
