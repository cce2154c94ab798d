// MD5 (RFC 1321), for one job only: hashing an HMAC-MD5 key longer than MD5's 64-byte
// block before an engine takes it (RFC 2104). IPsec-MB exposes MD5 only as one-block
// and HMAC primitives, and cryptodev PMDs refuse keys longer than the block. Off the
// packet path; never used as a message digest.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace arsec::crypto {

// The digest of p[0..n); intermediate buffers are wiped.
std::array<uint8_t, 16> Md5Digest(const uint8_t* p, size_t n);

}  // namespace arsec::crypto
