// Doorbells: wake-ups between arsec-dataplane's main lcore and arsec-control without
// polling sleeps.
//
// Both processes poll rte_rings. Polling with a sleep between looks costs each ring
// round trip up to two sleeps (the dataplane's idle sleep, then the waiter's), which is
// most of the time an SA install takes. A doorbell is a futex word in a shared memzone
// (kBellsZone): the producer enqueues, then rings (increments the word and, only when
// somebody sleeps on it, wakes it); the consumer notes the word, looks at its ring, and
// if the ring is empty sleeps until the word changes or its timeout passes. Noting the
// word before looking closes the race: an enqueue after the look has rung the bell, so
// the futex wait returns at once.
//
// The wait always has a timeout, so a doorbell only ever makes things faster: if the
// memory were not shared (a futex on a private mapping), the waiter would merely fall back
// to its old polling period. Futex calls are syscalls: never on a worker's packet path.
#pragma once

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cstdint>

namespace arsec::shm {

struct alignas(64) Doorbell {
  uint32_t seq;       // incremented by every ring (the futex word)
  uint32_t sleepers;  // waiters inside Wait(); a ring makes the syscall only when > 0
};

// The doorbells of one dataplane, in the memzone kBellsZone (zeroed by the dataplane).
struct Bells {
  Doorbell main;    // control -> main lcore: a request on arsec_req or a datagram on arsec_ike_tx
  Doorbell reply;   // main lcore -> control: replies on arsec_rep
  Doorbell ike_rx;  // main lcore -> control: datagrams on arsec_ike_rx
};

inline uint32_t Peek(const Doorbell& b) { return __atomic_load_n(&b.seq, __ATOMIC_SEQ_CST); }

inline void Ring(Doorbell& b) {
  __atomic_add_fetch(&b.seq, 1, __ATOMIC_SEQ_CST);
  if (__atomic_load_n(&b.sleepers, __ATOMIC_SEQ_CST) != 0) {
    syscall(SYS_futex, &b.seq, FUTEX_WAKE, INT32_MAX, nullptr, nullptr, 0);
  }
}

// Sleeps until the bell has rung since Peek() returned `seen`, or `timeout_ns` passed.
// Returns true when it rang (or may have: spurious wake-ups return true as well).
inline bool Wait(Doorbell& b, uint32_t seen, int64_t timeout_ns) {
  if (Peek(b) != seen) return true;
  __atomic_add_fetch(&b.sleepers, 1, __ATOMIC_SEQ_CST);
  timespec ts{static_cast<time_t>(timeout_ns / 1000000000),
              static_cast<long>(timeout_ns % 1000000000)};
  // FUTEX_WAIT (not _PRIVATE): the word lives in memory shared by two processes. It
  // returns at once (EAGAIN) if the word is no longer `seen`.
  long r = syscall(SYS_futex, &b.seq, FUTEX_WAIT, seen, &ts, nullptr, 0);
  __atomic_sub_fetch(&b.sleepers, 1, __ATOMIC_SEQ_CST);
  return r == 0 || Peek(b) != seen;
}

}  // namespace arsec::shm
