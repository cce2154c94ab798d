// SecretBytes (common/secret_bytes.h): value semantics (copies, moves, self-assignment),
// constant-time equality, Wipe, and that no text form shows the bytes.
#include "common/secret_bytes.h"

#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace arsec {
namespace {

using Bytes = std::vector<uint8_t>;

TEST(SecretBytes, CopiesAndMoves) {
  SecretBytes a(Bytes{1, 2, 3});
  SecretBytes b = a;
  EXPECT_EQ(b.bytes(), (Bytes{1, 2, 3}));
  EXPECT_EQ(a.bytes(), (Bytes{1, 2, 3}));   // a copy leaves the source alone
  SecretBytes c(Bytes{9, 9, 9, 9, 9});
  c = b;   // a longer old value is replaced whole
  EXPECT_EQ(c.bytes(), (Bytes{1, 2, 3}));
  SecretBytes d(std::move(c));
  EXPECT_EQ(d.bytes(), (Bytes{1, 2, 3}));
  EXPECT_TRUE(c.empty());   // NOLINT(bugprone-use-after-move): moved-from is empty
  SecretBytes e(Bytes{7});
  e = std::move(d);
  EXPECT_EQ(e.bytes(), (Bytes{1, 2, 3}));
  EXPECT_TRUE(d.empty());   // NOLINT(bugprone-use-after-move)
  const SecretBytes& alias = e;
  e = alias;
  EXPECT_EQ(e.bytes(), (Bytes{1, 2, 3}));
  SecretBytes& same = e;
  e = std::move(same);   // self-move keeps the value too
  EXPECT_EQ(e.size(), 3u);
}

TEST(SecretBytes, AccessorsAgree) {
  const SecretBytes s(Bytes{0xde, 0xad});
  ASSERT_EQ(s.size(), 2u);
  EXPECT_FALSE(s.empty());
  EXPECT_EQ(s.data(), s.bytes().data());
  EXPECT_EQ(s.span().data(), s.data());
  EXPECT_EQ(s.span().size(), 2u);
  EXPECT_EQ(s.data()[1], 0xad);
  EXPECT_TRUE(SecretBytes().empty());
  EXPECT_TRUE(SecretBytes().span().empty());
}

TEST(SecretBytes, Equality) {
  EXPECT_TRUE(SecretBytes(Bytes{1, 2}) == SecretBytes(Bytes{1, 2}));
  EXPECT_FALSE(SecretBytes(Bytes{1, 2}) == SecretBytes(Bytes{1, 3}));
  EXPECT_FALSE(SecretBytes(Bytes{1, 2}) == SecretBytes(Bytes{1, 2, 0}));
  EXPECT_TRUE(SecretBytes() == SecretBytes(Bytes{}));
  EXPECT_FALSE(SecretBytes() == SecretBytes(Bytes{0}));
}

TEST(SecretBytes, WipeEmptiesAndAllowsReuse) {
  Bytes raw(64, 0x5a);
  raw.resize(4);   // capacity past size() travels with the buffer and is wiped too
  SecretBytes s(std::move(raw));
  s.Wipe();
  EXPECT_TRUE(s.empty());
  s.Wipe();   // twice is harmless
  s = SecretBytes(Bytes{4, 5});
  EXPECT_EQ(s.bytes(), (Bytes{4, 5}));
}

TEST(SecretBytes, TextIsRedacted) {
  std::ostringstream os;
  os << SecretBytes(Bytes{'p', 'a', 's', 's'});
  EXPECT_EQ(os.str(), "[secret: 4 bytes]");
  EXPECT_EQ(::testing::PrintToString(SecretBytes(Bytes{'k'})), "[secret: 1 bytes]");
}

}  // namespace
}  // namespace arsec
