// Manual SAs, policy bodies and SPD rules from the configuration.
#include "control/ipsec/sa_builder.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "cli/lang/parser.h"

namespace arsec::control {
namespace {

bool KeyTypeFitsCipher(EncoKeyType t, EncAlg a) {
  switch (t) {
    case EncoKeyType::kGeneral: return true;   // any algorithm, checked by length
    case EncoKeyType::kDes: return a == EncAlg::kDes;
    case EncoKeyType::k3Des: return a == EncAlg::k3DesOuter || a == EncAlg::k3DesInner;
    case EncoKeyType::kAes128: return a == EncAlg::kAes128;
    case EncoKeyType::kAes192: return a == EncAlg::kAes192;
    case EncoKeyType::kAes256: return a == EncAlg::kAes256;
  }
  return false;
}

}  // namespace

absl::Status CheckSaSpecKeys(const SaSpec& s, const EncoKeyStore& keys) {
  if (s.keyman != KeyManagement::kManual) return absl::OkStatus();
  if (s.protocol == SaProtocol::kEsp && s.encalg && *s.encalg != EncAlg::kNull) {
    if (!s.enckey) return absl::InvalidArgumentError("ENCKEY is required with KEYMANAGEMENT=MANUAL");
    const EncoKey* k = keys.Find(*s.enckey);
    if (!k) {
      return absl::NotFoundError(absl::StrCat("ENCKEY ", *s.enckey,
                                              ": ENCO key ", *s.enckey, " does not exist"));
    }
    if (!KeyTypeFitsCipher(k->type, *s.encalg)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "ENCKEY ", *s.enckey, " is a ", EncoKeyTypeName(k->type), " key; ENCALG=",
          EncAlgName(*s.encalg), " needs a key of TYPE=GENERAL",
          *s.encalg == EncAlg::kDes ? " or DES" : "",
          *s.encalg == EncAlg::k3DesOuter || *s.encalg == EncAlg::k3DesInner ? " or 3DES" : "",
          *s.encalg == EncAlg::kAes128 ? " or AES128" : "",
          *s.encalg == EncAlg::kAes192 ? " or AES192" : "",
          *s.encalg == EncAlg::kAes256 ? " or AES256" : ""));
    }
    const size_t want = EncKeyLength(*s.encalg);
    if (k->value.size() != want) {
      return absl::InvalidArgumentError(absl::StrCat(
          "ENCKEY ", *s.enckey, " is ", k->value.size(), " bytes; ENCALG=",
          EncAlgName(*s.encalg), " needs ", want, " bytes",
          IsGcm(*s.encalg) ? absl::StrCat(" (", want - 4, "-byte key and 4-byte salt)") : ""));
    }
  }
  if (s.protocol != SaProtocol::kComp && s.hashalg && *s.hashalg != HashAlg::kNull) {
    if (!s.hashkey) return absl::InvalidArgumentError("HASHKEY is required with KEYMANAGEMENT=MANUAL");
    const EncoKey* k = keys.Find(*s.hashkey);
    if (!k) {
      return absl::NotFoundError(absl::StrCat("HASHKEY ", *s.hashkey,
                                              ": ENCO key ", *s.hashkey, " does not exist"));
    }
    if (k->type != EncoKeyType::kGeneral) {
      return absl::InvalidArgumentError(absl::StrCat(
          "HASHKEY ", *s.hashkey, " is a ", EncoKeyTypeName(k->type),
          " key; an integrity key must be TYPE=GENERAL"));
    }
    const size_t want = HashKeyLength(*s.hashalg);
    if (k->value.size() != want) {
      return absl::InvalidArgumentError(absl::StrCat(
          "HASHKEY ", *s.hashkey, " is ", k->value.size(), " bytes; HASHALG=",
          HashAlgName(*s.hashalg), " needs ", want, " bytes (LENGTH=", want, ")"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<BundlePlan> PlanManualBundle(const PolicyView& p, uint32_t policy_id,
                                            const BundleSpec& bundle,
                                            const std::map<uint32_t, SaSpec>& specs,
                                            const EncoKeyStore& keys, uint32_t local,
                                            uint16_t local_udp_port) {
  if (p.action != PolicyAction::kIpsec || p.keyman != KeyManagement::kManual) {
    return absl::FailedPreconditionError("not a manually keyed IPSEC policy");
  }
  if (p.peer == 0) {
    return absl::FailedPreconditionError("a MANUAL policy needs a fixed PEERADDRESS");
  }
  if (local == 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "interface ", p.ifname, " has no IP address to use as the tunnel source"));
  }
  if (bundle.bundle.proposals.size() != 1) {
    return absl::FailedPreconditionError(absl::StrCat(
        "bundle specification ", bundle.id, " has more than one proposal"));
  }
  BundlePlan plan;
  plan.local = local;
  plan.peer = p.peer;
  const auto& slots = bundle.bundle.proposals[0].slots;
  if (slots.empty() || slots.size() > msg::kMaxBundle) {
    return absl::FailedPreconditionError(absl::StrCat(
        "bundle specification ", bundle.id, " has ", slots.size(), " SAs (1..",
        msg::kMaxBundle, ")"));
  }
  for (size_t i = 0; i < slots.size(); ++i) {
    if (slots[i].spec_ids.size() != 1) {
      return absl::FailedPreconditionError(absl::StrCat(
          "bundle specification ", bundle.id, " offers alternatives (OR)"));
    }
    const uint32_t sid = slots[i].spec_ids[0];
    auto it = specs.find(sid);
    if (it == specs.end()) {
      return absl::FailedPreconditionError(absl::StrCat("SA specification ", sid,
                                                        " does not exist"));
    }
    const SaSpec& s = it->second;
    if (s.keyman != KeyManagement::kManual) {
      return absl::FailedPreconditionError(absl::StrCat("SA specification ", sid,
                                                        " is not KEYMANAGEMENT=MANUAL"));
    }
    if (absl::Status st = CheckSaSpecKeys(s, keys); !st.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat("SA specification ", sid, ": ", st.message()));
    }
    SaPair pair;
    pair.spec_id = sid;
    for (msg::SaBody* b : {&pair.out, &pair.in}) {
      std::memset(b, 0, sizeof(*b));
      const bool out = b == &pair.out;
      b->policy_id = policy_id;
      b->dir = out ? msg::kSaOutbound : msg::kSaInbound;
      b->proto = ProtocolNumber(s.protocol);
      const bool tunnel = i == 0 && s.tunnel;
      b->mode = tunnel ? msg::kSaTunnel : msg::kSaTransport;
      b->dfbit = p.dfbit;
      if (tunnel) {
        b->tun_src = out ? local : p.peer;
        b->tun_dst = out ? p.peer : local;
      }
      if (s.protocol == SaProtocol::kComp) {
        b->spi = s.compalg == CompAlg::kDeflate ? 2 : 3;   // well-known CPI
        b->comp = CompWire(s.compalg);
        continue;
      }
      b->spi = out ? s.outspi : s.inspi;
      b->antireplay = s.antireplay_on() ? 1 : 0;
      b->replay_window = static_cast<uint16_t>(s.window());
      if (s.protocol == SaProtocol::kEsp) {
        const EncAlg ea = s.encalg.value_or(EncAlg::kNull);
        b->cipher = CipherWire(ea);
        if (ea != EncAlg::kNull) {
          const EncoKey* k = keys.Find(*s.enckey);
          b->cipher_key_len = static_cast<uint8_t>(k->value.size());
          std::memcpy(b->cipher_key, k->value.data(), k->value.size());
        }
        if (p.udptunnel) {
          b->encap = msg::kEncapEspUdp;
          b->encap_sport = out ? local_udp_port : p.udpport;
          b->encap_dport = out ? p.udpport : local_udp_port;
        }
      }
      const HashAlg ha = s.hashalg.value_or(HashAlg::kNull);
      b->auth = AuthWire(ha);
      if (ha != HashAlg::kNull) {
        const EncoKey* k = keys.Find(*s.hashkey);
        b->auth_key_len = static_cast<uint8_t>(k->value.size());
        std::memcpy(b->auth_key, k->value.data(), k->value.size());
      }
    }
    plan.sas.push_back(pair);
    WipeSaBody(&pair.out);
    WipeSaBody(&pair.in);
  }
  return plan;
}

absl::StatusOr<SaPair> MakeNegotiatedPair(const PolicyView& p, uint32_t policy_id,
                                          size_t index, const NegotiatedSaInput& in,
                                          uint32_t local, uint32_t peer, bool udp_encap,
                                          uint16_t sport, uint16_t dport) {
  const size_t ck = in.protocol == SaProtocol::kEsp ? EncKeyLength(in.enc) : 0;
  const size_t ak = in.protocol == SaProtocol::kComp ? 0 : HashKeyLength(in.hash);
  if (ck > msg::kMaxCipherKey || ak > msg::kMaxAuthKey || ck + ak != in.key_len) {
    return absl::InvalidArgumentError(absl::StrCat("negotiated SA: ", in.key_len,
                                                   " bytes of KEYMAT for a ", ck, "+", ak,
                                                   "-byte key pair"));
  }
  SaPair pair;
  for (msg::SaBody* b : {&pair.out, &pair.in}) {
    std::memset(b, 0, sizeof(*b));
    const bool out = b == &pair.out;
    b->policy_id = policy_id;
    b->dir = out ? msg::kSaOutbound : msg::kSaInbound;
    b->proto = ProtocolNumber(in.protocol);
    const bool tunnel = index == 0 && in.tunnel;
    b->mode = tunnel ? msg::kSaTunnel : msg::kSaTransport;
    b->dfbit = p.dfbit;
    if (tunnel) {
      b->tun_src = out ? local : peer;
      b->tun_dst = out ? peer : local;
    }
    b->soft_seconds = in.soft_seconds;
    b->hard_seconds = in.hard_seconds;
    b->soft_kbytes = in.soft_kbytes;
    b->hard_kbytes = in.hard_kbytes;
    b->spi = out ? in.out_spi : in.in_spi;
    if (in.protocol == SaProtocol::kComp) {
      b->comp = CompWire(in.comp);
      continue;
    }
    b->antireplay = in.antireplay ? 1 : 0;
    b->replay_window = static_cast<uint16_t>(in.window);
    const uint8_t* key = out ? in.out_key : in.in_key;
    if (in.protocol == SaProtocol::kEsp) {
      b->cipher = CipherWire(in.enc);
      b->cipher_key_len = static_cast<uint8_t>(ck);
      if (ck) std::memcpy(b->cipher_key, key, ck);
      if (udp_encap) {
        b->encap = msg::kEncapNatT;
        b->encap_sport = out ? sport : dport;
        b->encap_dport = out ? dport : sport;
      }
    }
    b->auth = AuthWire(in.hash);
    b->auth_key_len = static_cast<uint8_t>(ak);
    if (ak) std::memcpy(b->auth_key, key + ck, ak);
  }
  return pair;
}

msg::PolicyBody MakePolicyBody(const Policy& pol, const PolicyView& v, uint32_t local,
                               const std::vector<std::pair<uint32_t, uint32_t>>& sa_ids) {
  msg::PolicyBody b;
  std::memset(&b, 0, sizeof(b));
  b.policy_id = pol.id;
  b.port = v.port;
  b.action = static_cast<uint8_t>(v.action);
  b.debug = pol.debug;
  if (v.action == PolicyAction::kIpsec) {
    b.isakmp = v.keyman == KeyManagement::kIsakmp ? 1 : 0;
    b.peer = v.peer;
    b.local = local;
    b.udp_heartbeat = v.udptunnel && v.udpheartbeat ? 1 : 0;
    b.udp_port = v.udptunnel ? v.udpport : 0;
    const size_t n = std::min<size_t>(sa_ids.size(), msg::kMaxBundle);
    for (size_t i = 0; i < n; ++i) {
      b.out_sa[i] = sa_ids[i].first;
      b.in_sa[i] = sa_ids[i].second;
    }
    for (size_t i = n; i < msg::kMaxBundle; ++i) b.out_sa[i] = b.in_sa[i] = msg::kNoSa;
    b.n_out = b.n_in = static_cast<uint8_t>(n);
  } else {
    for (size_t i = 0; i < msg::kMaxBundle; ++i) b.out_sa[i] = b.in_sa[i] = msg::kNoSa;
  }
  std::snprintf(b.name, sizeof(b.name), "%s", pol.name.c_str());
  return b;
}

msg::SpdRuleWire MakeSpdRule(const PolicyView& v, uint32_t policy_id) {
  msg::SpdRuleWire r;
  std::memset(&r, 0, sizeof(r));
  r.policy_id = policy_id;
  r.port = v.port;
  r.action = static_cast<uint8_t>(v.action);
  r.lmask = v.lmask;
  r.laddr = v.laddr & v.lmask;
  r.rmask = v.rmask;
  r.raddr = v.raddr & v.rmask;
  r.proto = v.proto;
  r.lport_lo = v.lport_lo;
  r.lport_hi = v.lport_hi;
  r.rport_lo = v.rport_lo;
  r.rport_hi = v.rport_hi;
  return r;
}

void WipeSaBody(msg::SaBody* sa) {
  OPENSSL_cleanse(sa->cipher_key, sizeof(sa->cipher_key));
  OPENSSL_cleanse(sa->auth_key, sizeof(sa->auth_key));
}

std::string SaPairDigest(const SaPair& p) {
  msg::SaBody b[2] = {p.out, p.in};
  b[0].sa_id = b[1].sa_id = 0;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(b, sizeof(b), md, &len, EVP_sha256(), nullptr);
  WipeSaBody(&b[0]);
  WipeSaBody(&b[1]);
  return std::string(reinterpret_cast<const char*>(md), len);
}

}  // namespace arsec::control
