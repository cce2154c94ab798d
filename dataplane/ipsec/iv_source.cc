// IvSource: AES-128-CTR keystream as IV material. See iv_source.h.
#include "dataplane/ipsec/iv_source.h"

#include <intel-ipsec-mb.h>
#include <string.h>
#include <sys/random.h>

#include <cerrno>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace arsec::dp {

absl::StatusOr<std::unique_ptr<IvSource>> IvSource::Create() {
  std::unique_ptr<IvSource> s(new IvSource());
  alignas(16) uint8_t key[16];
  uint8_t seed[sizeof(key) + sizeof(s->nonce_)];
  size_t got = 0;
  while (got < sizeof(seed)) {
    const ssize_t r = getrandom(seed + got, sizeof(seed) - got, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      return absl::InternalError(absl::StrCat("getrandom: ", strerror(errno)));
    }
    got += static_cast<size_t>(r);
  }
  std::memcpy(key, seed, sizeof(key));
  std::memcpy(s->nonce_, seed + sizeof(key), sizeof(s->nonce_));
  explicit_bzero(seed, sizeof(seed));

  IMB_MGR* mgr = alloc_mb_mgr(0);
  if (mgr == nullptr) return absl::ResourceExhaustedError("alloc_mb_mgr failed");
  init_mb_mgr_auto(mgr, nullptr);
  if (const int err = imb_get_errno(mgr); err != 0) {
    free_mb_mgr(mgr);
    return absl::InternalError(absl::StrCat("init_mb_mgr_auto: ", imb_get_strerror(err)));
  }
  s->mgr_ = mgr;
  IMB_AES_KEYEXP_128(mgr, key, s->enc_keys_, s->dec_keys_);
  explicit_bzero(key, sizeof(key));
  s->Refill();  // proves the cipher works before the first packet needs it
  s->pos_ = 0;
  return s;
}

std::unique_ptr<IvSource> IvSource::CreateDeterministic(std::span<const uint8_t> stream) {
  std::unique_ptr<IvSource> s(new IvSource());
  s->stream_.assign(stream.begin(), stream.end());
  if (s->stream_.empty()) s->stream_.push_back(0);
  return s;
}

IvSource::~IvSource() {
  explicit_bzero(enc_keys_, sizeof(enc_keys_));
  explicit_bzero(dec_keys_, sizeof(dec_keys_));
  explicit_bzero(buf_, sizeof(buf_));
  if (mgr_ != nullptr) free_mb_mgr(static_cast<IMB_MGR*>(mgr_));
}

void IvSource::Refill() {
  ++refills_;
  pos_ = 0;
  if (mgr_ == nullptr) {
    for (size_t i = 0; i < kBufBytes; ++i) {
      buf_[i] = stream_[stream_pos_];
      if (++stream_pos_ == stream_.size()) stream_pos_ = 0;
    }
    return;
  }
  auto* mgr = static_cast<IMB_MGR*>(mgr_);
  // RFC 3686-style counter block: the library appends the 32-bit block counter (from 1)
  // to this 12-byte IV; 256 blocks per refill never reach the next refill's blocks.
  uint8_t iv[12];
  std::memcpy(iv, nonce_, 4);
  std::memcpy(iv + 4, &refills_, 8);
  std::memset(buf_, 0, kBufBytes);  // keystream = E(counter) XOR 0
  IMB_JOB* j = IMB_GET_NEXT_JOB(mgr);
  j->cipher_mode = IMB_CIPHER_CNTR;
  j->cipher_direction = IMB_DIR_ENCRYPT;
  j->chain_order = IMB_ORDER_CIPHER_HASH;
  j->hash_alg = IMB_AUTH_NULL;
  j->enc_keys = enc_keys_;
  j->dec_keys = enc_keys_;
  j->key_len_in_bytes = 16;
  j->src = buf_;
  j->dst = buf_;
  j->cipher_start_src_offset_in_bytes = 0;
  j->msg_len_to_cipher_in_bytes = kBufBytes;
  j->hash_start_src_offset_in_bytes = 0;
  j->msg_len_to_hash_in_bytes = 0;
  j->auth_tag_output = nullptr;
  j->auth_tag_output_len_in_bytes = 0;
  j->iv = iv;
  j->iv_len_in_bytes = sizeof(iv);
  j->user_data = nullptr;
  IMB_JOB* done = IMB_SUBMIT_JOB(mgr);
  if (done == nullptr) done = IMB_FLUSH_JOB(mgr);
  // CTR is not multi-buffer: the job completes at submit. Create() ran one refill to
  // prove the path, so a failure later means corruption; IVs that may be predictable
  // must never go out, so stop rather than continue.
  if (done == nullptr || done->status != IMB_STATUS_COMPLETED) __builtin_trap();
}

}  // namespace arsec::dp
