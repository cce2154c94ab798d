// The IKEv1 engine: every ISAKMP SA and exchange of arsec-control, driven by datagrams
// in (OnDatagram), time (Tick) and the dataplane (Acquire, SoftExpired). It owns message
// ids, retransmissions, the half-open cap, counters and the seed's log lines; the
// exchanges themselves (phase1_exchange.h, quick_exchange.h, info_exchange.h,
// xauth_exchange.h) hold the protocol.
//
// Single-threaded: the daemon (ike_daemon.h) calls it from its one thread. Everything
// outside comes through EngineEnv, so two engines can talk in one process over an
// in-memory transport with fixed randomness (tests/unit/ike/engine_test.cc).
//
// With thousands of peers nothing on the per-message path scans every SA, exchange or
// configured peer: the SAs are indexed by their cookies, by (initiator cookie, peer) for
// retransmitted first messages and by peer; the exchanges by SA; the installed bundles
// by peer; the half-open responder SAs are a set of their own; the configuration by peer
// address, name and policy id.
// Every change of an SA's cookies or state and every SA that comes or goes passes
// through the few Engine functions that keep these indexes (SetCookies, SetState,
// NewSa, EraseSa); exchanges register themselves in their constructor and destructor.
// EngineEnv::check_indexes (the unit tests) compares the indexes with full scans after
// every datagram and tick.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "control/ike/ike_config.h"
#include "control/ike/ike_sa.h"
#include "control/ike/ike_service.h"
#include "control/ike/ike_status.h"
#include "control/ike/isakmp_codec.h"
#include "control/ike/sa_installer.h"
#include "control/ike/transport.h"

namespace arsec::ike {

struct EngineEnv {
  DatagramTransport* transport = nullptr;
  SaInstaller* installer = nullptr;
  // A log line of module ISAK ("Exchange 1: Completed successfully"); severity as the
  // seed's S column (3 = information, 4 = warning ...).
  std::function<void(int severity, const std::string& stype, const std::string& line)> log;
  // Debug output for the consoles that enabled ISAKMP DEBUG with one of `flag`'s bits.
  std::function<void(uint32_t flag, const std::string& text)> debug;
  std::function<absl::Time()> now;
  // Randomness: cookies, nonces, DH private values, message ids, SPIs.
  std::function<void(uint8_t*, size_t)> random;
  // Tests: after every datagram and tick, compare the engine's lookup indexes with full
  // scans of its SAs and exchanges (O(N) each time) and abort on a difference.
  bool check_indexes = false;
};

class Engine;
class Phase1Exchange;

// The counters of SHOW ISAKMP COUNTERS, by group.
enum class Ctr : uint16_t {
  // GENERAL
  kRxMessages, kTxMessages, kRetransmits, kRxDropped, kRxBadHeader, kRxMalformed,
  kRxBadCookie, kRxDecryptFailed, kRxNoExchange, kRxRetransmitted, kHalfOpenRefused,
  kHalfOpenEvicted,
  kSendFailed, kIsakmpSasCreated, kIsakmpSasDeleted, kIpsecSasInstalled,
  kIpsecSasDeleted, kAcquires, kAcquiresIgnored, kNotifiesSent, kNotifiesReceived,
  kDeletesSent, kDeletesReceived,
  // MAIN
  kMainStartedInit, kMainStartedResp, kMainDone, kMainFailed, kMainAuthFailed,
  kMainNoProposal, kMainTimeout,
  // AGGRESSIVE
  kAggrStartedInit, kAggrStartedResp, kAggrDone, kAggrFailed, kAggrAuthFailed,
  kAggrNoProposal, kAggrTimeout,
  // QUICK
  kQuickStartedInit, kQuickStartedResp, kQuickDone, kQuickFailed, kQuickNoProposal,
  kQuickBadHash, kQuickTimeout, kQuickNoPolicy, kQuickRekeys,
  // INFO
  kInfoRx, kInfoTx, kInfoBadHash,
  // XAUTH
  kXauthStarted, kXauthOk, kXauthFailed, kXauthTimeout,
  // NATT
  kNatDetectedLocal, kNatDetectedPeer, kNatFloated, kNatKeepalivesTx,
  // DPD
  kDpdRequestsTx, kDpdAcksRx, kDpdRequestsRx, kDpdAcksTx, kDpdPeerDead,
  kCount
};

class Exchange {
 public:
  Exchange(Engine& e, IkeSa* sa, ExchangeType type, bool initiator, uint32_t message_id);
  virtual ~Exchange();   // leaves the engine's exchanges-by-SA index
  // A message of this exchange arrived (already decrypted when it was encrypted;
  // `raw` is the datagram as received, for retransmission detection).
  virtual void OnMessage(const Header& h, const std::vector<Payload>& payloads) = 0;
  virtual std::string StateName() const = 0;
  virtual int Phase() const { return 2; }
  virtual const char* TypeName() const = 0;
  // Called when retransmissions are exhausted.
  virtual void OnTimeout();

  uint32_t id() const { return id_; }
  IkeSa* sa() const { return sa_; }
  ExchangeType type() const { return type_; }
  bool initiator() const { return initiator_; }
  uint32_t message_id() const { return message_id_; }
  bool finished() const { return finished_; }
  uint32_t retransmits() const { return retx_count_; }
  absl::Time started() const { return started_; }

  // Engine-side bookkeeping.
  Bytes last_sent_;                  // for retransmission
  Bytes last_received_;              // a repeat of it is answered with last_sent_
  absl::Time next_retx_ = absl::InfiniteFuture();
  uint32_t retx_count_ = 0;
  absl::Duration retx_timeout_;
  bool awaiting_reply_ = false;      // retransmit last_sent_ until a reply comes
  Bytes iv_;                         // CBC state of this exchange (encrypted phases)

 protected:
  // Sends `payloads` as this exchange's next message, encrypted when `encrypt`; expects a
  // reply unless `last` (the final message, kept only to answer a retransmitted peer).
  void Send(const std::vector<Payload>& payloads, bool encrypt, bool last, uint8_t flags = 0);
  void Finish(bool ok, const std::string& why = "");
  Engine& e_;
  IkeSa* sa_;
  ExchangeType type_;
  bool initiator_;
  uint32_t message_id_;
  uint32_t id_;
  bool finished_ = false;
  absl::Time started_;
  friend class Engine;
};

class Engine {
 public:
  explicit Engine(EngineEnv env);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  void Configure(std::shared_ptr<const IkeConfig> cfg);
  void OnDatagram(const Datagram& d);
  void Tick();
  // The dataplane had traffic for an IPSEC KEYMAN=ISAKMP policy without SAs.
  void Acquire(uint32_t policy_id, uint32_t src, uint32_t dst);
  // An installed bundle's SA passed its soft lifetime: rekey it (initiator).
  void SoftExpired(uint32_t bundle_handle);
  // An SA of an installed bundle reached its hard lifetime (the dataplane dropped it):
  // the whole bundle is removed and forgotten.
  void HardExpired(uint32_t bundle_handle);
  // A bundle installed before arsec-control restarted, adopted from the dataplane: kept
  // like one negotiated as initiator with no ISAKMP SA, so that its soft expiry rekeys
  // it with a fresh phase 1 (make-before-break; the old bundle leaves after the delete
  // delay). One whose soft lifetime already passed is rekeyed at once.
  void AdoptBundle(const AdoptedSaBundle& b);
  // Starts phase 1 (if needed) and quick mode for a policy now (PRENEGOTIATE, tests).
  absl::Status Initiate(uint32_t policy_id);

  std::vector<IsakmpSaInfo> IsakmpSas() const;
  std::vector<ExchangeInfo> Exchanges() const;
  IsakmpCounters Counters() const;
  void ResetSas();
  void ResetCounters();
  uint64_t counter(Ctr c) const { return ctr_[static_cast<size_t>(c)]; }
  // Installed bundles (tests): handle -> policy id.
  std::map<uint32_t, uint32_t> Bundles() const;
  // Every ISAKMP SA held (established, negotiating, failed and lingering), the responder
  // ones not established yet (half-open), and the exchanges held: the memory bound the
  // half-open cap keeps (tests, the fuzz target).
  size_t SaCount() const { return sas_.size(); }
  size_t HalfOpenCount() const;
  size_t ExchangeCount() const { return xchgs_.size(); }
  // The lookup indexes against full scans of the SAs, exchanges and configuration: ""
  // when they agree, else what differs (tests; EngineEnv::check_indexes runs it always).
  std::string CheckIndexes() const;

  // ---- for the exchanges
  const IkeConfig& config() const { return *cfg_; }
  const EngineEnv& env() const { return env_; }
  absl::Time Now() const { return env_.now(); }
  Bytes Random(size_t n) const;
  // A Diffie-Hellman key pair for `group` with a private exponent from the engine's
  // randomness (fixed in tests): 512 bits above 1024-bit groups, 256 bits below.
  absl::StatusOr<DhKeyPair> NewDhKeyPair(int group) const;
  uint32_t RandomU32() const;
  void Count(Ctr c, uint64_t n = 1) { ctr_[static_cast<size_t>(c)] += n; }
  void Log(int severity, const std::string& line, const std::string& stype = "XCHG");
  void Debug(uint32_t flag, const std::string& text);
  void DebugMessage(bool tx, const IkeSa& sa, const Header& h,
                    const std::vector<Payload>& payloads, ByteSpan raw);
  bool DebugOn(uint32_t flag) const;
  // Runs one step of an exchange (a message, a start), reporting its state change to
  // DEBUG=STATE consoles.
  void Drive(Exchange* x, const std::function<void()>& step);
  void SetDebugFlags(uint32_t flags) { debug_flags_ = flags; }
  // Sends bytes to the SA's peer (from its local address and port).
  void SendRaw(const IkeSa& sa, const Bytes& data);
  // Encrypts and frames a message of `sa` with the CBC state `iv` (advanced).
  absl::StatusOr<Bytes> Seal(IkeSa& sa, Header h, const std::vector<Payload>& payloads,
                             Bytes& iv);
  // A one-message informational exchange (notify or delete) under `sa`'s protection
  // (or in the clear before phase 1 has keys).
  void SendNotify(IkeSa& sa, NotifyType type, ProtocolId proto, const Bytes& spi,
                  const Bytes& data = {});
  void SendDelete(IkeSa& sa, ProtocolId proto, const std::vector<Bytes>& spis);
  uint32_t NextExchangeId() { return ++next_xchg_id_; }
  uint32_t NewMessageId();
  // Phase 1 finished: establish the SA, start what waited for it.
  void Phase1Done(IkeSa& sa);
  void Phase1Failed(IkeSa& sa, const std::string& why);
  // Quick mode (either side) agreed a bundle: install it.
  absl::StatusOr<uint32_t> InstallBundle(const NegotiatedBundle& b, bool initiator,
                                         uint32_t replaces);
  // ISAKMP policy for a peer: by address (fixed PEER), then PEER=ANY ones.
  const PeerConfig* FindPeerByAddress(uint32_t peer) const;
  const PeerConfig* FindPeerById(uint32_t peer, const Identity& id) const;
  const Phase2Policy* FindPolicy(uint32_t policy_id) const;
  // The ISAKMP SA of a peer that can carry quick mode now, if any.
  IkeSa* UsableSa(uint32_t peer);
  // Whether IPsec SA bundles with the peer are installed.
  bool HasBundlesWith(uint32_t peer) const;
  void DeleteIkeSa(IkeSa& sa, bool send_delete, const std::string& why);
  // A DELETE or INITIAL-CONTACT from the peer removed SAs.
  void PeerDeleted(IkeSa& sa, const DeletePayload& d);
  void PeerInitialContact(IkeSa& sa);
  void OnDpd(IkeSa& sa, const NotifyPayload& n);

 private:
  struct Bundle {
    uint32_t policy_id = 0;
    uint32_t isakmp_sa = 0;
    uint32_t peer = 0;
    bool initiator = false;
    std::vector<std::pair<control::SaProtocol, uint32_t>> in_spis, out_spis;
    absl::Time installed;
    std::optional<absl::Time> remove_at;   // replaced: removed (and DELETEd) then
    bool rekeying = false;
    bool adopted = false;                  // from before a restart (AdoptBundle)
    std::optional<absl::Time> activate_at; // installed with defer_outbound: Activate then
  };
  // How long the initiator of a rekey keeps sending on the old SAs.
  static constexpr absl::Duration kActivateDelay = absl::Seconds(1);
  struct PendingAcquire {
    uint32_t policy_id = 0;
    uint32_t peer = 0;
    uint32_t attempts = 0;
    absl::Time since;
    uint32_t replaces = 0;                 // rekey: the bundle it replaces
  };

  void HandleDatagram(const Datagram& d);
  void HandlePhase1Start(const Datagram& d, const Header& h);
  void HandleEncrypted(IkeSa& sa, const Datagram& d, const Header& h);
  void HandleInformational(IkeSa& sa, const Header& h, const std::vector<Payload>& pl,
                           bool encrypted);
  IkeSa* NewSa(bool initiator, uint32_t local, uint32_t peer, const PeerConfig* cfg);
  void StartPhase1(const PeerConfig& cfg, uint32_t local, uint32_t peer);
  void StartQuick(IkeSa& sa, const PendingAcquire& a);
  void RunPending();
  void Prenegotiate();
  void Retransmit(Exchange& x);
  void Reap();
  // The lifetimes of established ISAKMP SAs, in seconds and in kilobytes (IkeSa::bytes):
  // renewed at 95% by the side that made them, deleted at 100%; an XAUTH client whose
  // server never completes XAUTH gives up (XauthExchange::ClientOverdue).
  void ExpireSas();
  // Counts `n` bytes of ISAKMP messages protected by `sa`'s keys (sent or received).
  static void Protected(IkeSa& sa, size_t n) { sa.bytes += n; }
  void DpdTick(IkeSa& sa);
  uint32_t LocalFor(uint32_t peer) const;
  // Half-open responder SAs (RFC 2408 2.5.3 anti-clogging): whether a first message from
  // `d` may have state, making room by evicting the oldest half-open SA whose peer never
  // answered when the overall cap is reached.
  bool AdmitHalfOpen(const Datagram& d);
  void RefuseHalfOpen(const Datagram& d, const char* why);
  // The responder cookie: a keyed hash of the peer's address and port, our address and
  // port, its cookie and a secret that changes every few minutes (RFC 2408 2.5.3).
  uint64_t ResponderCookie(const Datagram& d, uint64_t icookie);
  // Removes an SA that never got established, with its exchanges (no DELETE, no log).
  void DropSa(uint32_t id);

  // ---- the indexes (see the top of this file)
  using SaList = absl::InlinedVector<IkeSa*, 1>;          // ascending SA id
  using XchgList = absl::InlinedVector<Exchange*, 2>;     // ascending exchange id
  using CookiePair = std::pair<uint64_t, uint64_t>;       // (icookie, rcookie)
  using CookiePeer = std::pair<uint64_t, uint32_t>;       // (icookie, peer address)
  static void ListAdd(SaList& l, IkeSa* sa);
  static void ListRemove(SaList& l, const IkeSa* sa);
  template <typename Map, typename Key>
  static void MapRemove(Map& m, const Key& k, const IkeSa* sa);
  static bool IsHalfOpen(const IkeSa& sa) {
    return !sa.initiator && sa.state != IkeSaState::kEstablished;
  }
  void IndexSa(IkeSa* sa);
  void UnindexSa(IkeSa* sa);
  // The only ways an SA's cookies and state change after NewSa.
  void SetCookies(IkeSa& sa, uint64_t icookie, uint64_t rcookie);
  void SetState(IkeSa& sa, IkeSaState state);
  // Unindexes and destroys an SA (its exchanges must be gone or going).
  void EraseSa(uint32_t id);
  // Destroys the exchanges of `sa`, in exchange id order.
  void EraseExchangesOf(const IkeSa* sa);
  // The exchanges of `sa` (ascending id); empty when none.
  const XchgList& ExchangesOf(const IkeSa* sa) const;
  const SaList& SasOf(uint32_t peer) const;
  // The installed bundles (installer handles, ascending) with a peer; the only ways a
  // bundle comes and goes.
  using HandleList = absl::InlinedVector<uint32_t, 2>;
  const HandleList& BundlesOf(uint32_t peer) const;
  void AddBundle(uint32_t handle, Bundle b);
  bool EraseBundle(uint32_t handle);
  void UnindexBundle(uint32_t handle, const Bundle& b);   // before bundles_.erase(it)
  // The SA an incoming header belongs to (as a scan of all SAs in id order would find
  // it: the exact cookie pair, or our own phase 1 still waiting for the responder's
  // cookie, which then takes it).
  IkeSa* FindSa(const Datagram& d, const Header& h);
  void IndexConfig();
  void CheckIndexesOrDie(const char* where) const;

  // Declared before sas_ and xchgs_: exchanges leave xchgs_by_sa_ as they are destroyed.
  absl::flat_hash_map<CookiePair, SaList> sa_by_cookies_;         // every SA
  absl::flat_hash_map<uint64_t, SaList> sa_awaiting_rcookie_;     // our phase 1s, rcookie 0
  absl::flat_hash_map<CookiePeer, SaList> responder_sa_by_icookie_;
  absl::flat_hash_map<uint32_t, SaList> sa_by_peer_;
  absl::flat_hash_set<IkeSa*> half_open_;                         // IsHalfOpen
  absl::flat_hash_map<uint32_t, uint32_t> half_open_by_peer_;     // its count per address
  absl::flat_hash_map<const IkeSa*, XchgList> xchgs_by_sa_;
  absl::flat_hash_map<uint32_t, HandleList> bundles_by_peer_;
  // The configuration's peers and policies (pointers into *cfg_, rebuilt by Configure).
  absl::flat_hash_map<uint32_t, std::vector<const PeerConfig*>> peers_by_addr_;  // !any
  std::vector<const PeerConfig*> any_peers_;
  absl::flat_hash_map<std::string, const PeerConfig*> peer_by_name_;   // the last one
  absl::flat_hash_map<uint32_t, const Phase2Policy*> policy_by_id_;    // the first one
  absl::flat_hash_map<uint32_t, uint32_t> local_by_peer_;              // LocalFor

  EngineEnv env_;
  std::shared_ptr<const IkeConfig> cfg_;
  uint32_t debug_flags_ = 0;
  uint64_t ctr_[static_cast<size_t>(Ctr::kCount)] = {};
  uint32_t next_sa_id_ = 0;
  uint32_t next_xchg_id_ = 0;
  std::map<uint32_t, std::unique_ptr<IkeSa>> sas_;
  std::map<uint32_t, std::unique_ptr<Exchange>> xchgs_;        // by exchange id
  std::map<uint32_t, Bundle> bundles_;                          // by installer handle
  std::vector<PendingAcquire> pending_;
  absl::flat_hash_map<uint32_t, absl::Time> acquire_seen_;      // policy -> last acquire
  Bytes cookie_secret_;                                         // ResponderCookie's key
  absl::Time cookie_secret_born_ = absl::InfinitePast();
  absl::Time last_refusal_log_ = absl::InfinitePast();          // refusals log 1/s
  uint64_t refusals_unlogged_ = 0;
  absl::flat_hash_map<uint32_t, absl::Time> prenegotiated_;     // policy -> last attempt
  friend class Exchange;
  friend class Phase1Exchange;
  friend class QuickExchange;
  friend class XauthExchange;
};

}  // namespace arsec::ike
