// IpsecMbEngine: CryptoEngine on Intel IPsec-MB's burst API. See ipsec_mb_engine.h.
//
// Per op the engine fills one IMB_JOB from the session's precomputed fields (no per-op
// branch on configuration beyond GCM vs the rest and the direction), submits the burst,
// then flushes: with multi-buffer HMAC/CBC the library holds jobs in lanes until enough
// arrive, so a flush per burst (not per op) is what keeps the lanes full.
//
// Inbound ICVs are computed into a per-job scratch tag and compared in constant time
// here, because the library only generates tags. GCM's 12-byte nonce (RFC 4106: salt ||
// explicit IV) is assembled in the same scratch, which lives until the flush.
#include "dataplane/crypto/ipsec_mb_engine.h"

#include "dataplane/crypto/md5.h"

#include <intel-ipsec-mb.h>
#include <string.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace arsec::crypto {
namespace {

// Jobs per library burst: the IMB_MGR queue holds IMB_MAX_JOBS (256); 64 keeps the
// scratch on one page and is above the lane count of every multi-buffer kernel.
constexpr uint32_t kChunk = 64;
static_assert(kChunk <= IMB_MAX_BURST_SIZE);

void SecureZero(void* p, size_t n) { explicit_bzero(p, n); }

// The per-SA state. Hot fields first (read for every op), key material after.
class MbSession final : public CryptoSession {
 public:
  MbSession(CipherAlg c, AuthAlg a, uint8_t digest_len) : CryptoSession(c, a, digest_len) {
    set_footprint(sizeof(MbSession));
  }
  ~MbSession() override { SecureZero(&keys_, sizeof(keys_)); SecureZero(salt, sizeof(salt)); }

  // Hot: copied into each job.
  const void* enc_keys = nullptr;
  const void* dec_keys = nullptr;
  const uint8_t* ipad = nullptr;
  const uint8_t* opad = nullptr;
  uint64_t key_len = 0;
  IMB_CIPHER_MODE cipher_mode = IMB_CIPHER_NULL;
  IMB_HASH_ALG hash_alg = IMB_AUTH_NULL;
  uint8_t job_iv_len = 0;   // what the library reads (GCM: 12)
  uint8_t block_mask = 0;   // cipher_len & block_mask must be 0
  bool gcm = false;
  bool hmac = false;
  uint8_t salt[4] = {};

  // Key material (zeroed on destruction).
  struct Keys {
    union {
      struct gcm_key_data gcm;
      struct {
        alignas(16) uint8_t enc[16 * 15];
        alignas(16) uint8_t dec[16 * 15];
      } aes;
      struct {
        alignas(16) uint64_t ks[3][16];
        const void* ptrs[3];
      } des;
    } c;
    alignas(16) uint8_t ipad[64];
    alignas(16) uint8_t opad[64];
  };
  alignas(64) Keys keys_;
};

// What each in-flight job needs beyond the op: the nonce and the computed tag.
struct alignas(64) JobScratch {
  uint8_t iv[16];
  uint8_t tag[64];
};

// Constant time. Every ICV length here is a multiple of 4 (8..32), so compare words.
inline bool TagEqual(const uint8_t* a, const uint8_t* b, uint32_t n) {
  uint32_t d = 0;
  for (uint32_t i = 0; i < n; i += 4) {
    uint32_t x, y;
    std::memcpy(&x, a + i, 4);
    std::memcpy(&y, b + i, 4);
    d |= x ^ y;
  }
  return d == 0;
}

class IpsecMbEngine final : public CryptoEngine {
 public:
  IpsecMbEngine(IMB_MGR* mgr, uint32_t capacity, bool check_jobs)
      : mgr_(mgr), check_jobs_(check_jobs), ring_(capacity), mask_(capacity - 1) {
    name_ = absl::StrCat("ipsec-mb/", ArchName(mgr));
  }
  ~IpsecMbEngine() override { free_mb_mgr(mgr_); }

  std::string_view Name() const override { return name_; }
  bool IsSynchronous() const override { return true; }
  bool Supports(CipherAlg c, AuthAlg a) const override {
    return !IsAead(c) || a == AuthAlg::kNull;
  }

  absl::StatusOr<std::unique_ptr<CryptoSession>> CreateSession(
      const SessionParams& p) override;

  uint16_t Enqueue(CryptoOp* const* ops, uint16_t n) override {
    const uint32_t room = static_cast<uint32_t>(ring_.size()) - (tail_ - head_);
    if (n > room) n = static_cast<uint16_t>(room);
    for (uint32_t i = 0; i < n; i += kChunk) RunChunk(ops + i, std::min<uint32_t>(kChunk, n - i));
    for (uint32_t i = 0; i < n; ++i) ring_[(tail_ + i) & mask_] = ops[i];
    tail_ += n;
    return n;
  }

  uint16_t Dequeue(CryptoOp** out, uint16_t max) override {
    const uint32_t k = std::min<uint32_t>(max, tail_ - head_);
    for (uint32_t i = 0; i < k; ++i) out[i] = ring_[(head_ + i) & mask_];
    head_ += k;
    return static_cast<uint16_t>(k);
  }

  uint32_t InFlight() const override { return tail_ - head_; }
  uint32_t Capacity() const override { return static_cast<uint32_t>(ring_.size()); }

 private:
  static const char* ArchName(IMB_MGR* m) {
    if (m->features & IMB_FEATURE_VAES) return "avx512-vaes";
    switch (m->used_arch) {
      case IMB_ARCH_NOAESNI: return "noaesni";
      case IMB_ARCH_SSE: return "sse";
      case IMB_ARCH_AVX: return "avx";
      case IMB_ARCH_AVX2: return "avx2";
      case IMB_ARCH_AVX512: return "avx512";
      default: return "unknown";
    }
  }

  // Fills `j` for `op`; false when the op cannot be valid (status set). These checks
  // are what the library would refuse (a refused burst costs a job-by-job rerun), and
  // with check_jobs off they are all that stands between a bad op and the library.
  static bool FillJob(IMB_JOB* j, CryptoOp* op, JobScratch* sc, bool library_checks) {
    const auto* s = static_cast<const MbSession*>(op->session);
    const uint32_t dlen = s->digest_len();
    if (op->data == nullptr || (op->cipher_len & s->block_mask) != 0 ||
        (s->block_mask != 0 && op->cipher_len == 0) ||
        (s->hmac && op->auth_len == 0) || (dlen != 0 && op->digest == nullptr) ||
        (s->job_iv_len != 0 && op->iv == nullptr) ||
        (!library_checks && op->aad_len != 0 && op->aad == nullptr)) {
      op->status = CryptoStatus::kError;
      return false;
    }
    j->src = op->data;
    j->dst = op->data + op->cipher_offset;
    j->cipher_start_src_offset_in_bytes = op->cipher_offset;
    j->msg_len_to_cipher_in_bytes = op->cipher_len;
    j->enc_keys = s->enc_keys;
    j->dec_keys = s->dec_keys;
    j->key_len_in_bytes = s->key_len;
    j->cipher_mode = s->cipher_mode;
    j->hash_alg = s->hash_alg;
    j->iv_len_in_bytes = s->job_iv_len;
    if (s->gcm) {
      std::memcpy(sc->iv, s->salt, 4);
      std::memcpy(sc->iv + 4, op->iv, 8);
      j->iv = sc->iv;
      j->u.GCM.aad = op->aad;
      j->u.GCM.aad_len_in_bytes = op->aad_len;
      j->hash_start_src_offset_in_bytes = op->cipher_offset;
      j->msg_len_to_hash_in_bytes = op->cipher_len;
    } else {
      j->iv = op->iv;
      j->u.HMAC._hashed_auth_key_xor_ipad = s->ipad;
      j->u.HMAC._hashed_auth_key_xor_opad = s->opad;
      j->hash_start_src_offset_in_bytes = op->auth_offset;
      j->msg_len_to_hash_in_bytes = op->auth_len;
    }
    j->auth_tag_output_len_in_bytes = dlen;
    if (op->dir == CryptoDir::kEncrypt) {
      j->cipher_direction = IMB_DIR_ENCRYPT;
      j->chain_order = IMB_ORDER_CIPHER_HASH;
      j->auth_tag_output = op->digest;
    } else {
      j->cipher_direction = IMB_DIR_DECRYPT;
      j->chain_order = IMB_ORDER_HASH_CIPHER;
      j->auth_tag_output = sc->tag;
    }
    j->user_data = op;
    j->user_data2 = sc;
    return true;
  }

  static void Complete(const IMB_JOB* j) {
    auto* op = static_cast<CryptoOp*>(j->user_data);
    if (j->status != IMB_STATUS_COMPLETED) {
      op->status = CryptoStatus::kError;
      return;
    }
    const uint32_t dlen = static_cast<uint32_t>(j->auth_tag_output_len_in_bytes);
    if (op->dir == CryptoDir::kDecrypt && dlen != 0) {
      const auto* sc = static_cast<const JobScratch*>(j->user_data2);
      op->status = TagEqual(sc->tag, op->digest, dlen) ? CryptoStatus::kOk
                                                       : CryptoStatus::kAuthFailed;
    } else {
      op->status = CryptoStatus::kOk;
    }
  }

  void RunChunk(CryptoOp* const* ops, uint32_t k) {
    IMB_JOB* jobs[kChunk];
    // The queue is empty between chunks (each ends with a flush), so all k come back.
    const uint32_t got = IMB_GET_NEXT_BURST(mgr_, k, jobs);
    if (got < k) {
      for (uint32_t i = 0; i < k; ++i) ops[i]->status = CryptoStatus::kError;
      return;
    }
    uint32_t nj = 0;
    for (uint32_t i = 0; i < k; ++i) nj += FillJob(jobs[nj], ops[i], &scratch_[nj], check_jobs_);
    if (nj == 0) return;
    uint32_t done;
    if (check_jobs_) {
      IMB_JOB* submitted[kChunk];
      std::memcpy(submitted, jobs, nj * sizeof(jobs[0]));
      done = IMB_SUBMIT_BURST(mgr_, nj, jobs);
      if (done == 0 && imb_get_errno(mgr_) != 0) {
        RunJobByJob(submitted, nj);
        return;
      }
    } else {
      done = IMB_SUBMIT_BURST_NOCHECK(mgr_, nj, jobs);
    }
    for (uint32_t i = 0; i < done; ++i) Complete(jobs[i]);
    if (done < nj) {
      const uint32_t f = IMB_FLUSH_BURST(mgr_, nj - done, jobs);
      for (uint32_t i = 0; i < f; ++i) Complete(jobs[i]);
    }
  }

  // The burst was refused as a whole (a job the library considers invalid) and nothing
  // was submitted: the filled jobs are still the next queue slots, in order. Submitting
  // them one by one lets the valid ones through and fails only the bad ones.
  void RunJobByJob(IMB_JOB* const* filled, uint32_t nj) {
    for (uint32_t i = 0; i < nj; ++i) {
      IMB_JOB* j = IMB_GET_NEXT_JOB(mgr_);
      if (j != filled[i]) {  // not expected; fail the rest rather than guess
        for (uint32_t r = i; r < nj; ++r)
          static_cast<CryptoOp*>(filled[r]->user_data)->status = CryptoStatus::kError;
        break;
      }
      for (IMB_JOB* d = IMB_SUBMIT_JOB(mgr_); d != nullptr; d = IMB_GET_COMPLETED_JOB(mgr_))
        Complete(d);
    }
    for (IMB_JOB* d = IMB_FLUSH_JOB(mgr_); d != nullptr; d = IMB_FLUSH_JOB(mgr_)) Complete(d);
  }

  absl::Status SetHmacKeys(MbSession* s, AuthAlg a, std::span<const uint8_t> key);

  IMB_MGR* mgr_;
  bool check_jobs_;
  std::string name_;
  std::vector<CryptoOp*> ring_;
  uint32_t mask_;
  uint32_t head_ = 0;
  uint32_t tail_ = 0;
  std::array<JobScratch, kChunk> scratch_{};
};

absl::Status IpsecMbEngine::SetHmacKeys(MbSession* s, AuthAlg a,
                                        std::span<const uint8_t> key) {
  size_t block = 64;
  IMB_HASH_ALG alg = IMB_AUTH_NULL;
  void (*one_block)(const void*, void*) = nullptr;
  switch (a) {
    case AuthAlg::kNull: return absl::OkStatus();
    case AuthAlg::kHmacMd5_96: alg = IMB_AUTH_MD5; one_block = mgr_->md5_one_block; break;
    case AuthAlg::kHmacSha1_96:
      alg = IMB_AUTH_HMAC_SHA_1; one_block = mgr_->sha1_one_block; break;
    case AuthAlg::kHmacSha256_128:
      alg = IMB_AUTH_HMAC_SHA_256; one_block = mgr_->sha256_one_block; break;
    case AuthAlg::kHmacSha384_192:
      alg = IMB_AUTH_HMAC_SHA_384; one_block = mgr_->sha384_one_block; block = 128; break;
    case AuthAlg::kHmacSha512_256:
      alg = IMB_AUTH_HMAC_SHA_512; one_block = mgr_->sha512_one_block; block = 128; break;
  }
  if (key.empty()) return absl::InvalidArgumentError("HMAC key is empty");
  alignas(16) uint8_t k[128] = {};
  if (key.size() > block) {  // RFC 2104: hash long keys first
    switch (a) {
      case AuthAlg::kHmacMd5_96: {
        const auto d = Md5Digest(key.data(), key.size());
        std::memcpy(k, d.data(), d.size());
        break;
      }
      case AuthAlg::kHmacSha1_96: IMB_SHA1(mgr_, key.data(), key.size(), k); break;
      case AuthAlg::kHmacSha256_128: IMB_SHA256(mgr_, key.data(), key.size(), k); break;
      case AuthAlg::kHmacSha384_192: IMB_SHA384(mgr_, key.data(), key.size(), k); break;
      case AuthAlg::kHmacSha512_256: IMB_SHA512(mgr_, key.data(), key.size(), k); break;
      case AuthAlg::kNull: break;
    }
  } else {
    std::memcpy(k, key.data(), key.size());
  }
  alignas(16) uint8_t pad[128];
  for (size_t i = 0; i < block; ++i) pad[i] = k[i] ^ 0x36;
  one_block(pad, s->keys_.ipad);
  for (size_t i = 0; i < block; ++i) pad[i] = k[i] ^ 0x5c;
  one_block(pad, s->keys_.opad);
  SecureZero(k, sizeof(k));
  SecureZero(pad, sizeof(pad));
  s->hash_alg = alg;
  s->hmac = true;
  s->ipad = s->keys_.ipad;
  s->opad = s->keys_.opad;
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<CryptoSession>> IpsecMbEngine::CreateSession(
    const SessionParams& p) {
  if (IsAead(p.cipher) && p.auth != AuthAlg::kNull)
    return absl::InvalidArgumentError("an AEAD cipher takes no separate integrity algorithm");
  if (p.cipher_key.size() != CipherKeyLen(p.cipher))
    return absl::InvalidArgumentError(absl::StrCat(std::string(CipherName(p.cipher)), " needs a ",
                                                   CipherKeyLen(p.cipher), "-byte key, got ",
                                                   p.cipher_key.size()));
  if (p.auth == AuthAlg::kNull && !p.auth_key.empty())
    return absl::InvalidArgumentError("NULL integrity takes no key");
  size_t dlen = DefaultDigestLen(p.cipher, p.auth);
  if (p.digest_len != 0) {
    bool ok = false;
    if (IsAead(p.cipher)) {
      ok = p.digest_len == 8 || p.digest_len == 12 || p.digest_len == 16;
    } else if (p.auth != AuthAlg::kNull) {
      const size_t full = p.auth == AuthAlg::kHmacMd5_96 ? 16 : AuthKeyLen(p.auth);
      // IPsec-MB accepts MD5 at 12 only; the others at the IPsec or the full length.
      ok = p.digest_len == dlen || (p.auth != AuthAlg::kHmacMd5_96 && p.digest_len == full);
    }
    if (!ok)
      return absl::InvalidArgumentError(absl::StrCat(
          "digest length ", static_cast<int>(p.digest_len), " not supported for ",
          std::string(IsAead(p.cipher) ? CipherName(p.cipher) : AuthName(p.auth))));
    dlen = p.digest_len;
  }

  auto s = std::make_unique<MbSession>(p.cipher, p.auth, static_cast<uint8_t>(dlen));
  const uint8_t* key = p.cipher_key.data();
  auto& c = s->keys_.c;
  switch (p.cipher) {
    case CipherAlg::kNull:
      s->cipher_mode = IMB_CIPHER_NULL;
      break;
    case CipherAlg::kDesCbc:
      IMB_DES_KEYSCHED(mgr_, c.des.ks[0], key);
      s->cipher_mode = IMB_CIPHER_DES;
      s->enc_keys = s->dec_keys = c.des.ks[0];
      s->key_len = 8;
      break;
    case CipherAlg::k3desCbc:
      for (int i = 0; i < 3; ++i) {
        IMB_DES_KEYSCHED(mgr_, c.des.ks[i], key + 8 * i);
        c.des.ptrs[i] = c.des.ks[i];
      }
      s->cipher_mode = IMB_CIPHER_DES3;
      s->enc_keys = s->dec_keys = c.des.ptrs;
      s->key_len = 24;
      break;
    case CipherAlg::kAes128Cbc:
      IMB_AES_KEYEXP_128(mgr_, key, c.aes.enc, c.aes.dec);
      break;
    case CipherAlg::kAes192Cbc:
      IMB_AES_KEYEXP_192(mgr_, key, c.aes.enc, c.aes.dec);
      break;
    case CipherAlg::kAes256Cbc:
      IMB_AES_KEYEXP_256(mgr_, key, c.aes.enc, c.aes.dec);
      break;
    case CipherAlg::kAes128Gcm:
      IMB_AES128_GCM_PRE(mgr_, key, &c.gcm);
      break;
    case CipherAlg::kAes192Gcm:
      IMB_AES192_GCM_PRE(mgr_, key, &c.gcm);
      break;
    case CipherAlg::kAes256Gcm:
      IMB_AES256_GCM_PRE(mgr_, key, &c.gcm);
      break;
  }
  switch (p.cipher) {
    case CipherAlg::kAes128Cbc:
    case CipherAlg::kAes192Cbc:
    case CipherAlg::kAes256Cbc:
      s->cipher_mode = IMB_CIPHER_CBC;
      s->enc_keys = c.aes.enc;
      s->dec_keys = c.aes.dec;
      s->key_len = p.cipher_key.size();
      break;
    case CipherAlg::kAes128Gcm:
    case CipherAlg::kAes192Gcm:
    case CipherAlg::kAes256Gcm:
      s->cipher_mode = IMB_CIPHER_GCM;
      s->hash_alg = IMB_AUTH_AES_GMAC;
      s->enc_keys = s->dec_keys = &c.gcm;
      s->key_len = p.cipher_key.size() - 4;
      std::memcpy(s->salt, key + s->key_len, 4);
      s->gcm = true;
      break;
    default:
      break;
  }
  s->job_iv_len = s->gcm ? 12 : static_cast<uint8_t>(CipherIvLen(p.cipher));
  s->block_mask = static_cast<uint8_t>(CipherBlockLen(p.cipher) - 1);
  if (auto st = SetHmacKeys(s.get(), p.auth, p.auth_key); !st.ok()) return st;
  return std::unique_ptr<CryptoSession>(std::move(s));
}

}  // namespace

absl::StatusOr<std::unique_ptr<CryptoEngine>> CreateIpsecMbEngine(
    const IpsecMbOptions& options) {
  IMB_MGR* mgr = alloc_mb_mgr(0);
  if (mgr == nullptr) return absl::ResourceExhaustedError("alloc_mb_mgr failed");
  init_mb_mgr_auto(mgr, nullptr);
  if (const int err = imb_get_errno(mgr); err != 0) {
    free_mb_mgr(mgr);
    return absl::InternalError(absl::StrCat("init_mb_mgr_auto: ", imb_get_strerror(err)));
  }
  const uint32_t cap = std::bit_ceil(std::max<uint32_t>(options.capacity, kChunk));
  return std::unique_ptr<CryptoEngine>(new IpsecMbEngine(mgr, cap, options.check_jobs));
}

}  // namespace arsec::crypto
