// CryptodevEngine: CryptoEngine on a DPDK cryptodev queue pair. See cryptodev_engine.h.
//
// Per engine: `capacity` rte_crypto_ops taken from the engine's op pool at creation,
// each paired for life with a data-room-less mbuf for plain buffers, kept on a free
// stack; and a ring of our CryptoOps in enqueue order. Enqueue fills one rte_crypto_op
// per valid CryptoOp (an invalid one gets kError and stays in the ring, done, so it
// comes back in order) and hands each chunk to rte_cryptodev_enqueue_burst. Every
// rte_crypto_op records its ring slot in its private area, so completions are matched to
// slots whatever order the PMD returns them in; Dequeue returns the done prefix of the
// ring. Nothing on this path allocates, locks, logs or makes a system call (the
// plain-buffer path's rte_mem_virt2iova may, in IOVA-as-PA mode only).
//
// The accepted count is always a prefix of the caller's ops: when the PMD takes fewer
// ops than offered, the ring is rolled back to the first op it refused.
#include "dataplane/crypto/cryptodev_engine.h"

#include "dataplane/crypto/md5.h"

#include <intel-ipsec-mb.h>
#include <rte_crypto.h>
#include <rte_cryptodev.h>
#include <rte_dev.h>
#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_memory.h>
#include <rte_mempool.h>
#include <string.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <type_traits>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/status_macros.h"

namespace arsec::crypto {
namespace cryptodev_internal {
namespace {

constexpr uint32_t kBurst = 64;        // ops per rte_cryptodev_{en,de}queue_burst
constexpr uint32_t kMaxAad = 64;       // longest GCM AAD a device may be opened with
constexpr uint32_t kMaxAadSlots = 4;   // GCM AAD lengths per device
constexpr uint32_t kMaxCapacity = 32768;
constexpr uint8_t kNoSlot = 0xff;

void SecureZero(void* p, size_t n) { explicit_bzero(p, n); }

// What an rte_crypto_op carries after its symmetric part. The cipher/AEAD xforms point
// their IV offset here; AAD and scratch ICV addresses are the op's IOVA plus an offset.
struct OpPriv {
  uint8_t iv[16];            // CBC IV, or the GCM nonce: salt || explicit IV (RFC 4106)
  uint8_t aad[kMaxAad];      // GCM AAD, zero-padded to a 16-byte multiple
  uint8_t digest[64];        // ICV when the op's digest is not inside the data mbuf
  rte_mbuf_ext_shared_info shinfo;  // for the plain-buffer wrapper
  rte_mbuf* wrap;            // this op's wrapper mbuf (plain buffers)
  uint32_t slot;             // ring position of the CryptoOp
  uint8_t digest_out;        // bytes to copy from `digest` to op->digest on success
  uint8_t wrapped;           // `wrap` is attached to the op's buffer
};
static_assert(std::is_standard_layout_v<OpPriv>);

constexpr uint32_t kPrivOffset = sizeof(rte_crypto_op) + sizeof(rte_crypto_sym_op);
constexpr uint32_t kIvOffset = kPrivOffset + offsetof(OpPriv, iv);
static_assert(kPrivOffset % alignof(OpPriv) == 0);

inline OpPriv* Priv(rte_crypto_op* c) {
  return reinterpret_cast<OpPriv*>(reinterpret_cast<uint8_t*>(c) + kPrivOffset);
}
inline rte_iova_t PrivIova(const rte_crypto_op* c, size_t field_offset) {
  return c->phys_addr + kPrivOffset + field_offset;
}

void NoopFree(void*, void*) {}  // plain buffers belong to the caller

// ---- Algorithm tables.

bool CipherAlgo(CipherAlg c, rte_crypto_cipher_algorithm* out) {
  switch (c) {
    case CipherAlg::kNull: *out = RTE_CRYPTO_CIPHER_NULL; return true;
    case CipherAlg::kDesCbc: *out = RTE_CRYPTO_CIPHER_DES_CBC; return true;
    case CipherAlg::k3desCbc: *out = RTE_CRYPTO_CIPHER_3DES_CBC; return true;
    case CipherAlg::kAes128Cbc:
    case CipherAlg::kAes192Cbc:
    case CipherAlg::kAes256Cbc: *out = RTE_CRYPTO_CIPHER_AES_CBC; return true;
    default: return false;  // AEAD
  }
}

rte_crypto_auth_algorithm AuthAlgo(AuthAlg a) {
  switch (a) {
    case AuthAlg::kHmacMd5_96: return RTE_CRYPTO_AUTH_MD5_HMAC;
    case AuthAlg::kHmacSha1_96: return RTE_CRYPTO_AUTH_SHA1_HMAC;
    case AuthAlg::kHmacSha256_128: return RTE_CRYPTO_AUTH_SHA256_HMAC;
    case AuthAlg::kHmacSha384_192: return RTE_CRYPTO_AUTH_SHA384_HMAC;
    case AuthAlg::kHmacSha512_256: return RTE_CRYPTO_AUTH_SHA512_HMAC;
    case AuthAlg::kNull: break;
  }
  return RTE_CRYPTO_AUTH_NULL;
}

size_t HashBlockLen(AuthAlg a) {
  return a == AuthAlg::kHmacSha384_192 || a == AuthAlg::kHmacSha512_256 ? 128 : 64;
}
// The untruncated HMAC output, which is also the natural key length.
size_t FullDigestLen(AuthAlg a) { return AuthKeyLen(a); }

constexpr CipherAlg kAllCiphers[] = {
    CipherAlg::kNull,      CipherAlg::kDesCbc,    CipherAlg::k3desCbc,
    CipherAlg::kAes128Cbc, CipherAlg::kAes192Cbc, CipherAlg::kAes256Cbc,
    CipherAlg::kAes128Gcm, CipherAlg::kAes192Gcm, CipherAlg::kAes256Gcm};
constexpr AuthAlg kAllAuths[] = {AuthAlg::kNull,          AuthAlg::kHmacMd5_96,
                                 AuthAlg::kHmacSha1_96,   AuthAlg::kHmacSha256_128,
                                 AuthAlg::kHmacSha384_192, AuthAlg::kHmacSha512_256};

}  // namespace

// ---- The device: configuration, capabilities, session pool. Shared (shared_ptr) by the
// CryptodevDevice handle, its engines and its sessions; the last one stops the device.
struct DeviceState {
  std::string name;
  std::string driver;
  uint8_t dev_id = 0;
  int socket = SOCKET_ID_ANY;
  uint16_t n_qps = 0;
  uint32_t qp_descriptors = 0;
  uint64_t features = 0;
  rte_device* device = nullptr;
  bool probed = false;      // we created the device (rte_dev_probe); remove it at the end
  bool configured = false;  // we configured it; stop and close it at the end
  rte_mempool* session_pool = nullptr;
  IMB_MGR* imb = nullptr;   // SHA-1/SHA-2 of long HMAC keys (stateless functions only)
  std::vector<uint8_t> aad_lens;
  std::array<uint8_t, kMaxAad + 1> aad_slot{};  // AAD length -> slot, kNoSlot if none
  bool supports[std::size(kAllCiphers)][std::size(kAllAuths)] = {};

  absl::Mutex mu;
  std::vector<bool> qp_used ABSL_GUARDED_BY(mu);

  ~DeviceState() {
    if (configured) {
      rte_cryptodev_stop(dev_id);
      rte_cryptodev_close(dev_id);
    }
    if (session_pool != nullptr) rte_mempool_free(session_pool);
    if (probed && device != nullptr) rte_dev_remove(device);
    if (imb != nullptr) free_mb_mgr(imb);
  }

  const rte_cryptodev_symmetric_capability* Cap(rte_crypto_sym_xform_type t, int algo) const {
    rte_cryptodev_sym_capability_idx idx{};
    idx.type = t;
    switch (t) {
      case RTE_CRYPTO_SYM_XFORM_CIPHER:
        idx.algo.cipher = static_cast<rte_crypto_cipher_algorithm>(algo);
        break;
      case RTE_CRYPTO_SYM_XFORM_AUTH:
        idx.algo.auth = static_cast<rte_crypto_auth_algorithm>(algo);
        break;
      default:
        idx.algo.aead = static_cast<rte_crypto_aead_algorithm>(algo);
        break;
    }
    return rte_cryptodev_sym_capability_get(dev_id, &idx);
  }
  bool CipherOk(CipherAlg c) const {
    rte_crypto_cipher_algorithm algo;
    if (!CipherAlgo(c, &algo)) return false;
    const auto* cap = Cap(RTE_CRYPTO_SYM_XFORM_CIPHER, algo);
    return cap != nullptr && rte_cryptodev_sym_capability_check_cipher(
                                 cap, static_cast<uint16_t>(CipherKeyLen(c)),
                                 static_cast<uint16_t>(CipherIvLen(c))) == 0;
  }
  bool AuthOk(AuthAlg a, size_t key_len, size_t digest_len) const {
    const auto* cap = Cap(RTE_CRYPTO_SYM_XFORM_AUTH, AuthAlgo(a));
    return cap != nullptr &&
           rte_cryptodev_sym_capability_check_auth(cap, static_cast<uint16_t>(key_len),
                                                   static_cast<uint16_t>(digest_len), 0) == 0;
  }
  bool AeadOk(CipherAlg c, size_t digest_len) const {
    if (aad_lens.empty()) return false;
    const auto* cap = Cap(RTE_CRYPTO_SYM_XFORM_AEAD, RTE_CRYPTO_AEAD_AES_GCM);
    if (cap == nullptr) return false;
    for (uint8_t l : aad_lens)
      if (rte_cryptodev_sym_capability_check_aead(
              cap, static_cast<uint16_t>(CipherKeyLen(c) - 4),
              static_cast<uint16_t>(digest_len), l, 12) != 0)
        return false;
    return true;
  }
  bool PairOk(CipherAlg c, AuthAlg a) const {
    if (IsAead(c)) return a == AuthAlg::kNull && AeadOk(c, DefaultDigestLen(c, a));
    if (a == AuthAlg::kNull) return CipherOk(c);  // NULL/NULL: a NULL cipher xform
    if (!AuthOk(a, AuthKeyLen(a), DefaultDigestLen(c, a))) return false;
    if (c == CipherAlg::kNull) return true;  // an auth-only session
    return CipherOk(c) && (features & RTE_CRYPTODEV_FF_SYM_OPERATION_CHAINING) != 0;
  }
  bool Supports(CipherAlg c, AuthAlg a) const {
    return supports[static_cast<size_t>(c)][static_cast<size_t>(a)];
  }
};

namespace {

// ---- Sessions.

enum Dir : uint8_t { kOut = 0, kIn = 1 };

class CryptodevSession final : public CryptoSession {
 public:
  CryptodevSession(std::shared_ptr<const DeviceState> dev, CipherAlg c, AuthAlg a,
                   uint8_t digest_len)
      : CryptoSession(c, a, digest_len), dev_id(dev->dev_id), dev_(std::move(dev)) {}
  ~CryptodevSession() override {
    for (auto& d : sess)
      for (void*& s : d)
        if (s != nullptr) rte_cryptodev_sym_session_free(dev_id, s);
    SecureZero(salt, sizeof(salt));
  }

  // Hot: read for every op.
  const uint8_t dev_id;
  bool gcm = false;
  bool hmac = false;
  bool has_cipher = false;  // not the NULL cipher
  uint8_t block_mask = 0;   // cipher_len & block_mask must be 0
  uint8_t salt[4] = {};
  void* sess[2][kMaxAadSlots] = {};  // [Dir][AAD slot]; non-GCM sessions use slot 0

 private:
  std::shared_ptr<const DeviceState> dev_;  // the device outlives its sessions
};

absl::Status NoDeviceSession(std::string_view what) {
  const int err = rte_errno;
  const std::string msg = absl::StrCat("rte_cryptodev_sym_session_create (", std::string(what),
                                       "): ", rte_strerror(err));
  return err == ENOMEM ? absl::ResourceExhaustedError(msg) : absl::InternalError(msg);
}

absl::StatusOr<std::unique_ptr<CryptoSession>> MakeSession(
    const std::shared_ptr<const DeviceState>& dev, const SessionParams& p) {
  if (IsAead(p.cipher) && p.auth != AuthAlg::kNull)
    return absl::InvalidArgumentError("an AEAD cipher takes no separate integrity algorithm");
  if (p.cipher_key.size() != CipherKeyLen(p.cipher))
    return absl::InvalidArgumentError(absl::StrCat(std::string(CipherName(p.cipher)), " needs a ",
                                                   CipherKeyLen(p.cipher), "-byte key, got ",
                                                   p.cipher_key.size()));
  if (p.auth == AuthAlg::kNull && !p.auth_key.empty())
    return absl::InvalidArgumentError("NULL integrity takes no key");
  if (p.auth != AuthAlg::kNull && p.auth_key.empty())
    return absl::InvalidArgumentError("HMAC key is empty");
  size_t dlen = DefaultDigestLen(p.cipher, p.auth);
  if (p.digest_len != 0) {
    bool ok = false;
    if (IsAead(p.cipher))
      ok = p.digest_len == 8 || p.digest_len == 12 || p.digest_len == 16;
    else if (p.auth != AuthAlg::kNull)
      ok = p.digest_len == dlen || p.digest_len == FullDigestLen(p.auth);
    if (!ok)
      return absl::InvalidArgumentError(absl::StrCat(
          "digest length ", static_cast<int>(p.digest_len), " not supported for ",
          std::string(IsAead(p.cipher) ? CipherName(p.cipher) : AuthName(p.auth))));
    dlen = p.digest_len;
  }
  const auto unsupported = [&] {
    return absl::UnimplementedError(absl::StrCat(
        dev->name, " (", dev->driver, ") lacks ", std::string(CipherName(p.cipher)), "+",
        std::string(AuthName(p.auth)), " with a ", dlen, "-byte ICV"));
  };
  if (!dev->Supports(p.cipher, p.auth)) return unsupported();

  // RFC 2104: a key longer than the hash block is replaced by its hash. The cryptodev
  // API requires keys no longer than the block.
  alignas(16) uint8_t hashed[64];
  std::span<const uint8_t> akey = p.auth_key;
  if (p.auth != AuthAlg::kNull && akey.size() > HashBlockLen(p.auth)) {
    switch (p.auth) {
      case AuthAlg::kHmacMd5_96: {
        auto d = Md5Digest(akey.data(), akey.size());
        std::memcpy(hashed, d.data(), d.size());
        SecureZero(d.data(), d.size());
        break;
      }
      case AuthAlg::kHmacSha1_96: IMB_SHA1(dev->imb, akey.data(), akey.size(), hashed); break;
      case AuthAlg::kHmacSha256_128:
        IMB_SHA256(dev->imb, akey.data(), akey.size(), hashed);
        break;
      case AuthAlg::kHmacSha384_192:
        IMB_SHA384(dev->imb, akey.data(), akey.size(), hashed);
        break;
      case AuthAlg::kHmacSha512_256:
        IMB_SHA512(dev->imb, akey.data(), akey.size(), hashed);
        break;
      case AuthAlg::kNull: break;
    }
    akey = std::span<const uint8_t>(hashed, FullDigestLen(p.auth));
  }
  struct Wipe {
    uint8_t* p;
    ~Wipe() { SecureZero(p, 64); }
  } wipe{hashed};

  auto s = std::make_unique<CryptodevSession>(dev, p.cipher, p.auth, static_cast<uint8_t>(dlen));
  s->block_mask = static_cast<uint8_t>(CipherBlockLen(p.cipher) - 1);
  rte_mempool* const mp = dev->session_pool;

  if (IsAead(p.cipher)) {
    if (!dev->AeadOk(p.cipher, dlen)) return unsupported();
    const size_t klen = p.cipher_key.size() - 4;
    std::memcpy(s->salt, p.cipher_key.data() + klen, 4);
    s->gcm = true;
    s->has_cipher = true;
    for (size_t slot = 0; slot < dev->aad_lens.size(); ++slot) {
      for (Dir d : {kOut, kIn}) {
        rte_crypto_sym_xform x{};
        x.type = RTE_CRYPTO_SYM_XFORM_AEAD;
        x.aead.op = d == kOut ? RTE_CRYPTO_AEAD_OP_ENCRYPT : RTE_CRYPTO_AEAD_OP_DECRYPT;
        x.aead.algo = RTE_CRYPTO_AEAD_AES_GCM;
        x.aead.key.data = p.cipher_key.data();
        x.aead.key.length = static_cast<uint16_t>(klen);
        x.aead.iv.offset = kIvOffset;
        x.aead.iv.length = 12;
        x.aead.digest_length = static_cast<uint16_t>(dlen);
        x.aead.aad_length = dev->aad_lens[slot];
        s->sess[d][slot] = rte_cryptodev_sym_session_create(dev->dev_id, &x, mp);
        if (s->sess[d][slot] == nullptr) return NoDeviceSession(CipherName(p.cipher));
      }
    }
    return std::unique_ptr<CryptoSession>(std::move(s));
  }

  rte_crypto_cipher_algorithm calgo = RTE_CRYPTO_CIPHER_NULL;
  CipherAlgo(p.cipher, &calgo);
  s->has_cipher = p.cipher != CipherAlg::kNull;
  s->hmac = p.auth != AuthAlg::kNull;
  if (s->hmac && !dev->AuthOk(p.auth, akey.size(), dlen)) return unsupported();
  for (Dir d : {kOut, kIn}) {
    rte_crypto_sym_xform cx{}, ax{};
    cx.type = RTE_CRYPTO_SYM_XFORM_CIPHER;
    cx.cipher.op = d == kOut ? RTE_CRYPTO_CIPHER_OP_ENCRYPT : RTE_CRYPTO_CIPHER_OP_DECRYPT;
    cx.cipher.algo = calgo;
    cx.cipher.key.data = p.cipher_key.empty() ? nullptr : p.cipher_key.data();
    cx.cipher.key.length = static_cast<uint16_t>(p.cipher_key.size());
    cx.cipher.iv.offset = kIvOffset;
    cx.cipher.iv.length = static_cast<uint16_t>(CipherIvLen(p.cipher));
    ax.type = RTE_CRYPTO_SYM_XFORM_AUTH;
    ax.auth.op = d == kOut ? RTE_CRYPTO_AUTH_OP_GENERATE : RTE_CRYPTO_AUTH_OP_VERIFY;
    ax.auth.algo = AuthAlgo(p.auth);
    ax.auth.key.data = akey.data();
    ax.auth.key.length = static_cast<uint16_t>(akey.size());
    ax.auth.digest_length = static_cast<uint16_t>(dlen);
    rte_crypto_sym_xform* first;
    if (!s->hmac) {
      first = &cx;  // cipher only (NULL/NULL included)
    } else if (!s->has_cipher) {
      first = &ax;  // integrity only
    } else if (d == kOut) {
      first = &cx;  // encrypt, then the ICV over the ciphertext
      cx.next = &ax;
    } else {
      first = &ax;  // verify the ICV, then decrypt
      ax.next = &cx;
    }
    s->sess[d][0] = rte_cryptodev_sym_session_create(dev->dev_id, first, mp);
    if (s->sess[d][0] == nullptr) return NoDeviceSession(AuthName(p.auth));
  }
  return std::unique_ptr<CryptoSession>(std::move(s));
}

// ---- The engine.

class CryptodevEngine final : public CryptoEngine {
 public:
  CryptodevEngine(std::shared_ptr<DeviceState> dev, uint16_t qp, uint32_t capacity)
      : dev_(std::move(dev)), dev_id_(dev_->dev_id), qp_(qp), cap_(capacity),
        ring_(std::bit_ceil(capacity)), mask_(static_cast<uint32_t>(ring_.size()) - 1),
        aad_slot_(dev_->aad_slot) {
    name_ = absl::StrCat("cryptodev/", dev_->driver, "/", dev_->name, "/qp", qp);
  }

  ~CryptodevEngine() override {
    // The device may still hold ops: take them back before their memory goes. A device
    // that never returns them keeps the pools (a leak beats a use-after-free).
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (dev_inflight_ > 0 && std::chrono::steady_clock::now() < deadline) {
      rte_crypto_op* c[kBurst];
      const uint16_t k = rte_cryptodev_dequeue_burst(
          dev_id_, qp_, c, static_cast<uint16_t>(std::min(kBurst, dev_inflight_)));
      for (uint16_t i = 0; i < k; ++i) Release(c[i]);
      dev_inflight_ -= k;
    }
    if (dev_inflight_ == 0) {
      for (uint32_t i = 0; i < nfree_; ++i) {
        if (rte_mbuf* m = Priv(free_[i])->wrap) rte_pktmbuf_free(m);
        rte_crypto_op_free(free_[i]);
      }
      rte_mempool_free(op_pool_);
      rte_mempool_free(mbuf_pool_);
    }
    absl::MutexLock l(&dev_->mu);
    dev_->qp_used[qp_] = false;
  }

  absl::Status Init() {
    static std::atomic<uint32_t> seq{0};
    const uint32_t id = seq.fetch_add(1);
    const std::string op_name = absl::StrCat("arsec_cop", id);
    const std::string mb_name = absl::StrCat("arsec_cmb", id);
    op_pool_ = rte_crypto_op_pool_create(op_name.c_str(), RTE_CRYPTO_OP_TYPE_SYMMETRIC, cap_,
                                         0, sizeof(OpPriv), dev_->socket);
    if (op_pool_ == nullptr)
      return absl::ResourceExhaustedError(
          absl::StrCat("rte_crypto_op_pool_create: ", rte_strerror(rte_errno)));
    mbuf_pool_ = rte_pktmbuf_pool_create(mb_name.c_str(), cap_, 0, 0, 0, dev_->socket);
    if (mbuf_pool_ == nullptr)
      return absl::ResourceExhaustedError(
          absl::StrCat("rte_pktmbuf_pool_create: ", rte_strerror(rte_errno)));
    free_.assign(cap_, nullptr);
    std::vector<rte_mbuf*> wraps(cap_);
    if (rte_pktmbuf_alloc_bulk(mbuf_pool_, wraps.data(), cap_) != 0)
      return absl::ResourceExhaustedError("wrapper mbufs");
    for (uint32_t i = 0; i < cap_; i += kBurst) {
      const uint16_t k = static_cast<uint16_t>(std::min(kBurst, cap_ - i));
      if (rte_crypto_op_bulk_alloc(op_pool_, RTE_CRYPTO_OP_TYPE_SYMMETRIC, &free_[i], k) != k) {
        for (uint32_t j = i; j < cap_; ++j) rte_pktmbuf_free(wraps[j]);
        return absl::ResourceExhaustedError("crypto ops");
      }
      for (uint32_t j = i; j < i + k; ++j) {
        OpPriv* p = Priv(free_[j]);
        std::memset(p, 0, sizeof(*p));
        p->wrap = wraps[j];
        p->shinfo.free_cb = NoopFree;
        nfree_ = j + 1;
      }
    }
    return absl::OkStatus();
  }

  std::string_view Name() const override { return name_; }
  bool IsSynchronous() const override { return false; }
  bool Supports(CipherAlg c, AuthAlg a) const override { return dev_->Supports(c, a); }
  absl::StatusOr<std::unique_ptr<CryptoSession>> CreateSession(
      const SessionParams& p) override {
    return MakeSession(dev_, p);
  }

  uint16_t Enqueue(CryptoOp* const* ops, uint16_t n) override {
    const uint32_t room = cap_ - (tail_ - head_);
    if (n > room) n = static_cast<uint16_t>(room);
    uint32_t i = 0;
    while (i < n) {
      rte_crypto_op* burst[kBurst];
      uint16_t at[kBurst];
      uint32_t nb = 0;
      const uint32_t first_slot = tail_;
      const uint32_t first = i;
      for (; i < n && nb < kBurst; ++i) {
        CryptoOp* op = ops[i];
        Slot& s = ring_[tail_ & mask_];
        s.op = op;
        rte_crypto_op* c = free_[nfree_ - 1];  // nfree_ >= room: see Capacity()
        if (Prepare(op, c, tail_)) {
          --nfree_;
          burst[nb] = c;
          at[nb] = static_cast<uint16_t>(i);
          ++nb;
          s.done = false;
        } else {
          op->status = CryptoStatus::kError;
          s.done = true;
        }
        ++tail_;
      }
      const uint16_t acc =
          nb == 0 ? 0 : rte_cryptodev_enqueue_burst(dev_id_, qp_, burst, static_cast<uint16_t>(nb));
      dev_inflight_ += acc;
      if (acc < nb) {  // the device is full: ops from the first refused one stay with the caller
        const uint32_t stop = at[acc];
        for (uint32_t k = acc; k < nb; ++k) Release(burst[k]);
        for (uint32_t k = stop; k < i; ++k) ops[k]->status = CryptoStatus::kNotProcessed;
        tail_ = first_slot + (stop - first);
        return static_cast<uint16_t>(stop);
      }
    }
    return n;
  }

  uint16_t Dequeue(CryptoOp** out, uint16_t max) override {
    uint32_t n = 0;
    for (;;) {
      while (n < max && head_ != tail_) {
        Slot& s = ring_[head_ & mask_];
        if (!s.done) break;
        out[n++] = s.op;
        ++head_;
      }
      if (n == max || dev_inflight_ == 0) break;
      rte_crypto_op* c[kBurst];
      const uint16_t k = rte_cryptodev_dequeue_burst(
          dev_id_, qp_, c, static_cast<uint16_t>(std::min(kBurst, dev_inflight_)));
      if (k == 0) break;
      for (uint16_t j = 0; j < k; ++j) Complete(c[j]);
      dev_inflight_ -= k;
    }
    return static_cast<uint16_t>(n);
  }

  uint32_t InFlight() const override { return tail_ - head_; }
  // Every op in flight holds at most one rte_crypto_op, so the free stack never runs dry.
  uint32_t Capacity() const override { return cap_; }

 private:
  struct Slot {
    CryptoOp* op;
    bool done;
  };

  // Fills `c` for `op`; false when the op cannot be valid.
  bool Prepare(CryptoOp* op, rte_crypto_op* c, uint32_t slot) {
    const auto* s = static_cast<const CryptodevSession*>(op->session);
    if (s == nullptr || s->dev_id != dev_id_ || op->data == nullptr) return false;
    const uint32_t dlen = s->digest_len();
    if ((op->cipher_len & s->block_mask) != 0 || (s->block_mask != 0 && op->cipher_len == 0) ||
        (s->hmac && op->auth_len == 0) || (dlen != 0 && op->digest == nullptr) ||
        (s->iv_len() != 0 && op->iv == nullptr))
      return false;
    const Dir d = op->dir == CryptoDir::kEncrypt ? kOut : kIn;
    void* sess;
    uint32_t extent = static_cast<uint32_t>(op->cipher_offset) + op->cipher_len;
    if (s->gcm) {
      const uint8_t slot_i = op->aad_len <= kMaxAad ? aad_slot_[op->aad_len] : kNoSlot;
      if (slot_i == kNoSlot || (op->aad_len != 0 && op->aad == nullptr)) return false;
      sess = s->sess[d][slot_i];
    } else {
      sess = s->sess[d][0];
      if (s->hmac) extent = std::max<uint32_t>(extent, uint32_t{op->auth_offset} + op->auth_len);
    }

    OpPriv* p = Priv(c);
    rte_mbuf* m;
    uint32_t off;     // op->data's offset from rte_pktmbuf_mtod(m)
    uint32_t seg;     // bytes from rte_pktmbuf_mtod(m) that belong to the first segment
    uint8_t* base;
    if (op->user != nullptr) {
      m = static_cast<rte_mbuf*>(op->user);
      base = rte_pktmbuf_mtod(m, uint8_t*);
      seg = m->data_len;
      if (op->data < base || static_cast<size_t>(op->data - base) + extent > seg) return false;
      off = static_cast<uint32_t>(op->data - base);
    } else {
      if (extent > UINT16_MAX) return false;
      m = p->wrap;
      rte_mbuf_ext_refcnt_set(&p->shinfo, 1);
      rte_pktmbuf_attach_extbuf(m, op->data, rte_mem_virt2iova(op->data),
                                static_cast<uint16_t>(extent), &p->shinfo);
      m->data_len = static_cast<uint16_t>(extent);
      m->pkt_len = extent;
      p->wrapped = 1;
      base = op->data;
      seg = extent;
      off = 0;
    }

    rte_crypto_sym_op* sym = c->sym;
    sym->m_src = m;
    sym->m_dst = nullptr;
    // The ICV in place when it lies in the segment, else through the private scratch.
    uint8_t* digest = nullptr;
    rte_iova_t digest_iova = 0;
    p->digest_out = 0;
    if (dlen != 0) {
      if (op->digest >= base && static_cast<size_t>(op->digest - base) + dlen <= seg) {
        digest = op->digest;
        digest_iova = rte_pktmbuf_iova_offset(m, op->digest - base);
      } else {
        digest = p->digest;
        digest_iova = PrivIova(c, offsetof(OpPriv, digest));
        if (d == kIn)
          std::memcpy(p->digest, op->digest, dlen);
        else
          p->digest_out = static_cast<uint8_t>(dlen);
      }
    }
    if (s->gcm) {
      std::memcpy(p->iv, s->salt, 4);
      std::memcpy(p->iv + 4, op->iv, 8);
      std::memset(p->aad, 0, (op->aad_len + 15u) & ~15u);
      if (op->aad_len != 0) std::memcpy(p->aad, op->aad, op->aad_len);
      sym->aead.data.offset = off + op->cipher_offset;
      sym->aead.data.length = op->cipher_len;
      sym->aead.digest.data = digest;
      sym->aead.digest.phys_addr = digest_iova;
      sym->aead.aad.data = p->aad;
      sym->aead.aad.phys_addr = PrivIova(c, offsetof(OpPriv, aad));
    } else {
      if (s->iv_len() != 0) std::memcpy(p->iv, op->iv, s->iv_len());
      sym->cipher.data.offset = off + op->cipher_offset;
      sym->cipher.data.length = op->cipher_len;
      sym->auth.data.offset = off + op->auth_offset;
      sym->auth.data.length = s->hmac ? op->auth_len : 0;
      sym->auth.digest.data = digest;
      sym->auth.digest.phys_addr = digest_iova;
    }
    rte_crypto_op_attach_sym_session(c, sess);
    c->status = RTE_CRYPTO_OP_STATUS_NOT_PROCESSED;
    p->slot = slot;
    return true;
  }

  void Complete(rte_crypto_op* c) {
    OpPriv* p = Priv(c);
    Slot& s = ring_[p->slot & mask_];
    CryptoOp* op = s.op;
    switch (c->status) {
      case RTE_CRYPTO_OP_STATUS_SUCCESS:
        if (p->digest_out != 0) std::memcpy(op->digest, p->digest, p->digest_out);
        op->status = CryptoStatus::kOk;
        break;
      case RTE_CRYPTO_OP_STATUS_AUTH_FAILED:
        op->status = CryptoStatus::kAuthFailed;
        break;
      default:
        op->status = CryptoStatus::kError;
        break;
    }
    s.done = true;
    Release(c);
  }

  // Back on the free stack, the wrapper detached from the caller's buffer.
  void Release(rte_crypto_op* c) {
    OpPriv* p = Priv(c);
    if (p->wrapped) {
      rte_pktmbuf_detach(p->wrap);
      p->wrapped = 0;
    }
    free_[nfree_++] = c;
  }

  std::shared_ptr<DeviceState> dev_;
  const uint8_t dev_id_;
  const uint16_t qp_;
  const uint32_t cap_;
  std::string name_;
  std::vector<Slot> ring_;
  const uint32_t mask_;
  uint32_t head_ = 0;
  uint32_t tail_ = 0;
  uint32_t dev_inflight_ = 0;
  std::vector<rte_crypto_op*> free_;
  uint32_t nfree_ = 0;
  const std::array<uint8_t, kMaxAad + 1> aad_slot_;
  rte_mempool* op_pool_ = nullptr;
  rte_mempool* mbuf_pool_ = nullptr;
};

}  // namespace
}  // namespace cryptodev_internal

using cryptodev_internal::DeviceState;

CryptodevDevice::CryptodevDevice(std::shared_ptr<DeviceState> s) : state_(std::move(s)) {}
CryptodevDevice::~CryptodevDevice() = default;

absl::StatusOr<std::unique_ptr<CryptodevDevice>> CryptodevDevice::Open(
    std::string_view name, uint16_t n_qps, int socket, const CryptodevOptions& options) {
  if (n_qps == 0) return absl::InvalidArgumentError("a cryptodev needs at least one queue pair");
  if (options.qp_descriptors == 0 || options.max_sessions < 2)
    return absl::InvalidArgumentError("cryptodev queue or session pool size is zero");
  if (options.gcm_aad_lengths.size() > cryptodev_internal::kMaxAadSlots)
    return absl::InvalidArgumentError("at most 4 GCM AAD lengths");
  auto st = std::make_shared<DeviceState>();
  st->aad_slot.fill(cryptodev_internal::kNoSlot);
  for (uint8_t l : options.gcm_aad_lengths) {
    if (l > cryptodev_internal::kMaxAad || st->aad_slot[l] != cryptodev_internal::kNoSlot)
      return absl::InvalidArgumentError(absl::StrCat("bad GCM AAD length ", l));
    st->aad_slot[l] = static_cast<uint8_t>(st->aad_lens.size());
    st->aad_lens.push_back(l);
  }

  // The name may carry devargs ("crypto_aesni_mb0,socket_id=0"); the device is the part
  // before the first comma.
  const std::string devargs(name);
  st->name = devargs.substr(0, devargs.find(','));
  int id = rte_cryptodev_get_dev_id(st->name.c_str());
  if (id < 0) {
    if (rte_dev_probe(devargs.c_str()) == 0) {
      id = rte_cryptodev_get_dev_id(st->name.c_str());
      st->probed = id >= 0;
    }
    if (id < 0) return absl::NotFoundError(absl::StrCat("no cryptodev named ", st->name));
  }
  st->dev_id = static_cast<uint8_t>(id);
  rte_cryptodev_info info{};
  rte_cryptodev_info_get(st->dev_id, &info);
  st->device = info.device;
  st->driver = info.driver_name != nullptr ? info.driver_name : "?";
  st->features = info.feature_flags;
  if ((info.feature_flags & RTE_CRYPTODEV_FF_SYMMETRIC_CRYPTO) == 0)
    return absl::FailedPreconditionError(absl::StrCat(st->name, " has no symmetric crypto"));
  if (info.max_nb_queue_pairs < n_qps)
    return absl::ResourceExhaustedError(absl::StrCat(
        st->name, " has ", info.max_nb_queue_pairs, " queue pairs, ", n_qps, " wanted"));
  st->socket = socket >= 0 ? socket : rte_cryptodev_socket_id(st->dev_id);
  if (st->socket < 0) st->socket = SOCKET_ID_ANY;
  st->n_qps = n_qps;
  st->qp_descriptors = std::min(options.qp_descriptors, cryptodev_internal::kMaxCapacity);

  rte_cryptodev_config conf{};
  conf.socket_id = st->socket;
  conf.nb_queue_pairs = n_qps;
  conf.ff_disable = RTE_CRYPTODEV_FF_ASYMMETRIC_CRYPTO | RTE_CRYPTODEV_FF_SECURITY;
  if (int r = rte_cryptodev_configure(st->dev_id, &conf); r < 0)
    return absl::FailedPreconditionError(
        absl::StrCat("rte_cryptodev_configure ", st->name, ": ", rte_strerror(-r)));
  st->configured = true;

  const std::string pool_name = absl::StrCat("arsec_cs", st->dev_id);
  st->session_pool = rte_cryptodev_sym_session_pool_create(
      pool_name.c_str(), options.max_sessions,
      rte_cryptodev_sym_get_private_session_size(st->dev_id), 0, 0, st->socket);
  if (st->session_pool == nullptr)
    return absl::ResourceExhaustedError(absl::StrCat(
        "rte_cryptodev_sym_session_pool_create: ", rte_strerror(rte_errno)));

  rte_cryptodev_qp_conf qc{};
  qc.nb_descriptors = st->qp_descriptors;
  qc.mp_session = st->session_pool;
  for (uint16_t q = 0; q < n_qps; ++q)
    if (int r = rte_cryptodev_queue_pair_setup(st->dev_id, q, &qc, st->socket); r < 0)
      return absl::ResourceExhaustedError(absl::StrCat(
          "rte_cryptodev_queue_pair_setup ", st->name, " qp ", q, ": ", rte_strerror(-r)));
  if (int r = rte_cryptodev_start(st->dev_id); r < 0)
    return absl::FailedPreconditionError(
        absl::StrCat("rte_cryptodev_start ", st->name, ": ", rte_strerror(-r)));

  st->imb = alloc_mb_mgr(0);
  if (st->imb == nullptr) return absl::ResourceExhaustedError("alloc_mb_mgr failed");
  init_mb_mgr_auto(st->imb, nullptr);
  if (const int err = imb_get_errno(st->imb); err != 0)
    return absl::InternalError(absl::StrCat("init_mb_mgr_auto: ", imb_get_strerror(err)));

  for (size_t c = 0; c < std::size(cryptodev_internal::kAllCiphers); ++c)
    for (size_t a = 0; a < std::size(cryptodev_internal::kAllAuths); ++a)
      st->supports[c][a] =
          st->PairOk(cryptodev_internal::kAllCiphers[c], cryptodev_internal::kAllAuths[a]);
  {
    absl::MutexLock l(&st->mu);
    st->qp_used.assign(n_qps, false);
  }
  return std::unique_ptr<CryptodevDevice>(new CryptodevDevice(std::move(st)));
}

absl::StatusOr<std::unique_ptr<CryptoEngine>> CryptodevDevice::MakeEngine(
    uint16_t qp, const CryptodevEngineOptions& options) {
  if (qp >= state_->n_qps)
    return absl::InvalidArgumentError(
        absl::StrCat(state_->name, " has ", state_->n_qps, " queue pairs, no qp ", qp));
  {
    absl::MutexLock l(&state_->mu);
    if (state_->qp_used[qp])
      return absl::FailedPreconditionError(
          absl::StrCat(state_->name, " qp ", qp, " already has an engine"));
    state_->qp_used[qp] = true;
  }
  const uint32_t cap = std::clamp<uint32_t>(options.capacity, 1, state_->qp_descriptors);
  // The engine releases the queue pair when destroyed, also when Init fails.
  auto e = std::make_unique<cryptodev_internal::CryptodevEngine>(state_, qp, cap);
  RETURN_IF_ERROR(e->Init());
  return std::unique_ptr<CryptoEngine>(std::move(e));
}

bool CryptodevDevice::Supports(CipherAlg c, AuthAlg a) const { return state_->Supports(c, a); }
uint8_t CryptodevDevice::dev_id() const { return state_->dev_id; }
const std::string& CryptodevDevice::name() const { return state_->name; }
const std::string& CryptodevDevice::driver() const { return state_->driver; }
uint16_t CryptodevDevice::queue_pairs() const { return state_->n_qps; }

}  // namespace arsec::crypto
