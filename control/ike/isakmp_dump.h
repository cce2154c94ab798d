// The ISAKMP packet decoder behind ENABLE ISAKMP DEBUG=PKT and DEBUG=PKTRAW: it prints a
// message the way the AR410 does ("ISAKMP Tx Message", "Cookie's: ...", "Xchg Type:
// IDPROT(2) ...", one block per payload, phase 1 and phase 2 transform attributes as
// dotted "Label....... VALUE(n)" rows) and extends that style to every IKEv1 payload.
//
// It only reads: payload bodies are decoded with the codec's typed parsers, and a body
// that does not parse is shown as the parser's error plus (capped) hex. No blob prints
// more than 64 bytes. The only secrets an ISAKMP message can carry in its decrypted
// payloads are XAUTH credentials: XAUTH-USER-PASSWORD and XAUTH-PASSCODE values print
// as "********", and a malformed attribute payload never prints its bytes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "control/ike/isakmp_codec.h"

namespace arsec::ike {

// The decoded message, one line per '\n'. `payloads` are the plaintext ones (for an
// encrypted message, what the crypto layer decrypted; the flags line then says
// "(encrypted)"). `tx` selects "Tx" or "Rx" in the first line.
std::string DumpMessage(const Header& h, const std::vector<Payload>& payloads, bool tx);

// DEBUG=PKTRAW: the datagram as sent or received (before decryption / after
// encryption), as hex, 32 bytes a line, after an "ISAKMP Tx Raw Message" line. Never
// pass it a decrypted message: it prints every byte.
std::string DumpRaw(ByteSpan datagram, bool tx);

// Names as the decoder prints them, for log lines elsewhere in the daemon.
std::string ExchangeName(ExchangeType x);     // "IDPROT", "AGGRESSIVE", "QUICK", ...
std::string PayloadName(PayloadType t);       // "Security Association (SA)", ...
std::string NotifyName(uint16_t type);        // "NO-PROPOSAL-CHOSEN", "R-U-THERE", ...
// The known vendor id `vid` starts with ("RFC 3947", "DPD", "XAUTH", ...) or "".
std::string VendorIdName(ByteSpan vid);

}  // namespace arsec::ike
