// Published ESP packets: the AES-GCM test cases of draft-mcgrew-gcm-test-01 ("Test
// Cases for the use of GCM and GMAC in IPsec ESP", section 4; RFC 4106 framing, some
// with 64-bit sequence numbers). Each case gives the key || salt, the AAD (SPI || seq or
// SPI || seq_hi || seq_lo with ESN), the ESP plaintext (payload, padding, pad length,
// next header), the explicit IV, and the cipher text || ICV. Every case's next header
// is 1, so each runs as a transport-mode packet behind an IPv4 header we add:
// EspInboundPrepare/Finish must yield the payload, and EspOutboundPrepare on that result
// (with the case's IV patched in where our IV, the sequence number, would go) must give
// back the very same packet.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include "dataplane/ipsec/esp.h"
#include "tests/unit/ipsec/test_util.h"

namespace arsec::dp::test {
namespace {

struct GcmCase {
  int number;
  const char* key_salt;
  const char* aad;
  const char* plain;  // payload || padding || pad length || next header
  const char* iv;
  const char* cipher_icv;
};

// Checked against OpenSSL's AES-GCM when transcribed.
const GcmCase kCases[] = {
    {1,
     "4c80cdefbb5d10da906ac73c3613a6342e443b68",
     "000043218765432100000000",
     "45000048699a000080114db7c0a80102c0a801010a9bf15638d3010000010000"
     "00000000045f736970045f756470037369700963796265726369747902646b00"
     "0021000101020201",
     "4956ed7e3b244cfe",
     "fecf537e729d5b07dc30df528dd22b768d1b98736696a6fd348509fa13ceac34"
     "cfa2436f14a3f3cf65925bf1f4a13c5d15b21e1884f5ff6247aeabb786b93bce"
     "61bc17d768fd9732459018148f6cbe722fd04796562dfdb4"},
    {2,
     "feffe9928665731c6d6a8f9467308308cafebabe",
     "0000a5f80000000a",
     "4500003e698f000080114dccc0a80102c0a801010a980035002a2343b2d00100"
     "0001000000000000037369700963796265726369747902646b00000100010001",
     "facedbaddecaf888",
     "deb22cd9b07c72c16e3a65beeb8df304a5a5897d33ae530f1ba76d5d114d2a5c"
     "3de81827c10e9a4f51330d0eec416642cfbb85a5b47e48a4ec3b9ba95d918bd1"
     "83b70d3aa8bc6ee4c309e9d85a41ad4a"},
    {3,
     "abbccddef00112233445566778899aababbccddef00112233445566778899aab"
     "11223344",
     "4a2cbfe300000002",
     "4500003069a6400080062690c0a801029389155e0a9e008b2dc57ee000000000"
     "7002400020bf0000020405b40101040201020201",
     "0102030405060708",
     "ff425c9b724599df7a3bcd510194e00d6a78107f1b0b1cbf06efae9d65a5d763"
     "748a637985771d347f0545659f14e99def842d8eb335f4eecfdbf831824b4c49"
     "15956c96"},
    {4,
     "0000000000000000000000000000000000000000",
     "0000000000000001",
     "4500003c99c500008001cb7a40679318010101010800075c0200440061626364"
     "65666768696a6b6c6d6e6f707172737475767761626364656667686901020201",
     "0000000000000000",
     "4688daf2f973a392732909c331d56d60f694abaa414b5e7ff5fdcdfff5e9a284"
     "456476492719ffb64de7d9dca1e1d894bc3bd57873ed4d181d19d4d5c8c18af3"
     "f821d496eeb096e98ad2b69e4799c71d"},
    {5,
     "3de09874b388e6491988d0c3607eae1f57690e43",
     "42f67e3f1010101010101010",
     "4500003c99c300008001cb7c40679318010101010800085c0200430061626364"
     "65666768696a6b6c6d6e6f707172737475767761626364656667686901020201",
     "4e280000a2fca1a3",
     "fba2caa4853cf9f0f22cb10d86dd83b0fec75691cf1a04b00d1138ec9c357917"
     "65acbd8701ad79845bf9fe3fba487bc91755e6662b4c8d0d1f5e22739530320a"
     "e0d731cc978ecafaeae88f00e80d6e48"},
    {6,
     "3de09874b388e6491988d0c3607eae1f57690e43",
     "42f67e3f1010101010101010",
     "4500001c42a200008001441f406793b6e00000020a00f5ff01020201",
     "4e280000a2fca1a3",
     "fba2ca845e5df9f0f22c3e6e86dd831e1fc65792cd1af9130e1379ed369f071f"
     "35e034be95f112e4e7d05d35"},
    {7,
     "feffe9928665731c6d6a8f9467308308feffe9928665731ccafebabe",
     "0000a5f80000000a",
     "45000028a4ad4000400678800a01038f0a010612802306b8cb712602dd6bb03e"
     "501016d075680001",
     "facedbaddecaf888",
     "a5b1f8066029aea40e598b8122de02420938b3ab33f828e687b8858b5bfbdbd0"
     "315b27452144cc7795457b9652037f5318027b5b4cd7a636"},
    {8,
     "abbccddef00112233445566778899aabdecaf888",
     "000001000000000000000001",
     "4500004933ba00007f119106c3fb1d10c2b1d326c02831ce0035dd7b800302d5"
     "00004e20001e8c18d75b81dc91baa0476b91b924b280389d92c963bac046ec95"
     "9b6266c04722b14923010101",
     "cafedebaceface74",
     "18a6fd42f72cbf4ab2a2ea901f73d814e3e7f243d95412e1c349c1d2fbec168f"
     "9190feebaf2cb01984e65863965d7472b79da345e0e780191f0d2f0e0f496c22"
     "6f2127b27db35724e7845d68651f57e65f354f75ff17015769623436"},
    {9,
     "abbccddef00112233445566778899aababbccddef00112233445566778899aab"
     "73616c74",
     "17405e67156f3126dd0db99b",
     "45080028732c00004006e9f90a0106120a01038f06b88023dd6bafbecb712602"
     "50101f646d540001",
     "616e640169766563",
     "f2d69ecdbd5a0d5b8d5ef38bad4da58d1f278fde98ef67549d524a3018d9a57f"
     "f4d3a31ce673119e451626c2415771e3b7eebca614c89b35"},
    {10,
     "3de09874b388e6491988d0c3607eae1f57690e43",
     "42f67e3f1010101010101010",
     "45000049333e00007f119182c3fb1d10c2b1d326c02831ce0035cb458003025b"
     "000001e0001e8c18d65759d52284a0352c71475c8880391c764d6e5ee0496b32"
     "5ae270c03899493915010101",
     "4e280000a2fca1a3",
     "fba2cad12fc1f9f00d3cebf305410db83d7784b607323d220f24b0a97d541828"
     "00cadb0f68d99ef0e0c0c89ae9bea8884e52d65bc1afd0740f742444747b5b39"
     "ab533163aad4550ee5160975cdb608c5769189609763b8e18caa81e2"},
    {11,
     "abbccddef00112233445566778899aababbccddef00112233445566778899aab"
     "73616c74",
     "17405e67156f3126dd0db99b",
     "636973636f0172756c657301746865016e6574776501646566696e6501746865"
     "746563686e6f6c6f67696573017468617477696c6c01646566696e65746f6d6f"
     "72726f7701020201",
     "616e640169766563",
     "d4b7ed86a1777f2ea13d6973d324c69e7b43f826fb56831226508bebd2dceb18"
     "d0a6df10e5487df074113e14c641024e3e6773d91a62ee429b043a10e3efe6b0"
     "12a49363412364f8c0cac587f249e56b11e24f30e44ccc76"},
    {12,
     "7d773d00c144c525ac619d18c84a3f47d9664267",
     "335467aeffffffff",
     "01020201",
     "43457e9182443bc6",
     "437f866bcb3f699fe9b0822bac961c4504bef270"},
    {13,
     "abbccddef00112233445566778899aabdecaf888",
     "000001000000000000000001",
     "746f016265016f72016e6f7401746f0162650001",
     "cafedebaceface74",
     "29c9fc69a197d038ccdd14e2ddfcaa0543332164412503524303ed3c6c5f2838"
     "43af8c3e"},
    {14,
     "6c6567616c697a656d6172696a75616e61616e64646f69746265666f72656961"
     "7475726e",
     "796b6963ffffffffffffffff",
     "45000030da3a00008001df3bc0a80005c0a800010800c6cd0200070061626364"
     "65666768696a6b6c6d6e6f707172737401020201",
     "333021696765746d",
     "f97ab2aa356d8edce17644ac8c78e25dd24dedbb29ebf1b64a274b39b49c3a86"
     "4cd3d78ca4ae68a32b42458fb57dbe821dcc63b9d0937ba2945f669368661a32"
     "9fb4c053"},
};

crypto::CipherAlg GcmFor(size_t key_len) {
  return key_len == 16 ? crypto::CipherAlg::kAes128Gcm
         : key_len == 24 ? crypto::CipherAlg::kAes192Gcm
                         : crypto::CipherAlg::kAes256Gcm;
}

TEST(GcmDraftVectors, DecryptAndReencryptWholePackets) {
  for (const GcmCase& c : kCases) {
    SCOPED_TRACE(::testing::Message() << "case " << c.number);
    const Bytes key = Hex(c.key_salt), aad = Hex(c.aad), plain = Hex(c.plain), iv = Hex(c.iv),
                ct = Hex(c.cipher_icv);
    SaSpec s;
    s.cipher = GcmFor(key.size() - 4);
    s.cipher_key = key;
    s.mode = SaMode::kTransport;
    s.spi = LoadBe32(&aad[0]);
    s.esn = aad.size() == 12;
    const uint64_t seq = s.esn ? uint64_t{LoadBe32(&aad[4])} << 32 | LoadBe32(&aad[8])
                               : LoadBe32(&aad[4]);
    TestSa t = MakeSa(s);
    ASSERT_NE(t.session, nullptr);

    Bytes esp(8 + iv.size() + ct.size());
    StoreBe32(&esp[0], s.spi);
    StoreBe32(&esp[4], static_cast<uint32_t>(seq));
    std::copy(iv.begin(), iv.end(), esp.begin() + 8);
    std::copy(ct.begin(), ct.end(), esp.begin() + 8 + iv.size());
    const Bytes wire = Ipv4(0xc0000201, 0xc6336401, kProtoEsp, esp, 0, kIpv4Df, 0x77, 60);

    const uint8_t pad_len = plain[plain.size() - 2];
    const uint8_t next = plain.back();
    const Bytes payload(plain.begin(), plain.end() - 2 - pad_len);
    const Bytes expect = Ipv4(0xc0000201, 0xc6336401, next, payload, 0, kIpv4Df, 0x77, 60);

    MbufPtr m(MbufFrom(wire));
    uint32_t spi_be, seq_low;
    ASSERT_TRUE(EspParse(m.get(), &spi_be, &seq_low));
    EXPECT_EQ(seq_low, static_cast<uint32_t>(seq));
    crypto::CryptoOp op{};
    OpScratch sc{};
    ASSERT_EQ(EspInboundPrepare(*t.sa, m.get(), seq, &op, &sc), StageVerdict::kOk);
    EXPECT_EQ(Bytes(op.aad, op.aad + op.aad_len), aad);
    RunOp(&op);
    uint8_t nh = 0;
    ASSERT_EQ(EspInboundFinish(*t.sa, m.get(), &op, &sc, &nh), StageVerdict::kOk);
    EXPECT_EQ(nh, next);
    EXPECT_EQ(ToHex(MbufBytes(m.get())), ToHex(expect));

    auto ivs = IvSource::CreateDeterministic(iv);  // unused by GCM; required by the API
    ASSERT_EQ(EspOutboundPrepare(*t.sa, m.get(), seq, *ivs, 0, &op, &sc), StageVerdict::kOk);
    std::memcpy(const_cast<uint8_t*>(op.iv), iv.data(), 8);  // the case's IV, not seq
    EXPECT_EQ(Bytes(op.aad, op.aad + op.aad_len), aad);
    RunOp(&op);
    ASSERT_EQ(EspOutboundFinish(*t.sa, m.get(), &op, &sc), StageVerdict::kOk);
    EXPECT_EQ(ToHex(MbufBytes(m.get())), ToHex(wire));

    // And a flipped bit in the ICV is caught.
    Bytes bad = wire;
    bad.back() ^= 0x80;
    MbufPtr mb(MbufFrom(bad));
    ASSERT_EQ(EspInboundPrepare(*t.sa, mb.get(), seq, &op, &sc), StageVerdict::kOk);
    RunOp(&op);
    EXPECT_EQ(EspInboundFinish(*t.sa, mb.get(), &op, &sc, &nh), StageVerdict::kAuthFailed);
  }
}

}  // namespace
}  // namespace arsec::dp::test
