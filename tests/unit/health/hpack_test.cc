// HPACK: integers, Huffman and the decoder's tables (RFC 7541; vectors from its appendix C and
// from an independent encoder).
#include "health/hpack.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace beacon::health::hpack {
namespace {

std::string Hex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

std::string Render(const std::vector<HeaderField>& fields) {
  std::string out;
  for (const HeaderField& f : fields) {
    out += f.name + "=" + f.value + ";";
  }
  return out;
}

TEST(Hpack, IntegerRoundTripsAtPrefixBoundaries) {
  // RFC 7541 C.1: 10 and 1337 with a 5-bit prefix, 42 with an 8-bit prefix.
  std::string out;
  EncodeInteger(10, 5, 0, &out);
  EXPECT_EQ(out, Hex("0a"));
  out.clear();
  EncodeInteger(1337, 5, 0, &out);
  EXPECT_EQ(out, Hex("1f9a0a"));
  out.clear();
  EncodeInteger(42, 8, 0, &out);
  EXPECT_EQ(out, Hex("2a"));
  for (uint64_t v : {0ull, 30ull, 31ull, 32ull, 127ull, 128ull, 16383ull, 1ull << 31}) {
    for (int prefix : {4, 5, 6, 7, 8}) {
      std::string e;
      EncodeInteger(v, prefix, 0, &e);
      std::string_view in = e;
      Result<uint64_t> d = DecodeInteger(&in, prefix);
      ASSERT_TRUE(d.ok()) << v;
      EXPECT_EQ(*d, v);
      EXPECT_TRUE(in.empty());
    }
  }
}

TEST(Hpack, IntegerRejectsTruncationAndOverflow) {
  std::string_view truncated = "\x1f\x9a";
  EXPECT_FALSE(DecodeInteger(&truncated, 5).ok());
  std::string huge = Hex("1fffffffffffff7f");
  std::string_view in = huge;
  EXPECT_FALSE(DecodeInteger(&in, 5).ok());
}

TEST(Hpack, HuffmanMatchesRfcVectors) {
  struct Case {
    std::string text;
    std::string hex;
  };
  const std::vector<Case> cases = {
      {"www.example.com", "f1e3c2e5f23a6ba0ab90f4ff"},          // C.4.1
      {"custom-key", "25a849e95ba97d7f"},                        // C.4.3
      {"Mon, 21 Oct 2013 20:13:21 GMT", "d07abe941054d444a8200595040b8166e082a62d1bff"},  // C.6.1
      {"", ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    EXPECT_EQ(HuffmanEncode(c.text), Hex(c.hex));
    Result<std::string> d = HuffmanDecode(Hex(c.hex));
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    EXPECT_EQ(*d, c.text);
  }
}

TEST(Hpack, HuffmanRoundTripsEveryByte) {
  std::string all;
  for (int i = 0; i < 256; ++i) {
    all.push_back(static_cast<char>(i));
  }
  Result<std::string> d = HuffmanDecode(HuffmanEncode(all));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, all);
}

TEST(Hpack, HuffmanRejectsBadPadding) {
  // "0" is 00000 (5 bits); padding with zeros instead of ones is invalid.
  EXPECT_FALSE(HuffmanDecode(std::string(1, '\x00')).ok());
  // A whole byte of padding (8 one-bits) is longer than 7 bits.
  EXPECT_FALSE(HuffmanDecode(Hex("07ff")).ok());
  // EOS itself (30 ones) inside a string.
  EXPECT_FALSE(HuffmanDecode(Hex("ffffffff")).ok());
}

TEST(Hpack, DecodesHuffmanResponsesAndKeepsTheDynamicTable) {
  Decoder d;
  std::vector<HeaderField> first;
  ASSERT_TRUE(d.Decode(Hex("885f8b1d75d0620d263d4c4d6564408e9acac8b0c842d6958b510f21aa9b9034"
                           "85a9264fafa90b2d03497ea6f66aff"),
                       &first)
                  .ok());
  EXPECT_EQ(Render(first),
            ":status=200;content-type=application/grpc;"
            "grpc-accept-encoding=identity,deflate,gzip;");
  EXPECT_EQ(d.table_entries(), 2u);
  // The second block refers to dynamic entry 63 (content-type) by index.
  std::vector<HeaderField> second;
  ASSERT_TRUE(
      d.Decode(Hex("88bf40889acac8b21234da8f810740899acac8b5254207317f861d142931cf27"), &second)
          .ok());
  EXPECT_EQ(Render(second),
            ":status=200;content-type=application/grpc;grpc-status=0;grpc-message=all good;");
}

TEST(Hpack, TableSizeUpdateAndEviction) {
  Decoder d;
  std::vector<HeaderField> out;
  // Size update to 256, then two literals with incremental indexing.
  ASSERT_TRUE(d.Decode(Hex("3fe10140889acac8b21234da8f820b5f40899acac8b5254207317f8cb6a1f719a8"
                           "1c74155102a3f8"),
                       &out)
                  .ok());
  EXPECT_EQ(Render(out), "grpc-status=14;grpc-message=unavailable%20now;");
  EXPECT_LE(d.table_size(), 256u);

  // Shrinking to 0 evicts everything; a reference to the old entry then fails.
  out.clear();
  ASSERT_TRUE(d.Decode(Hex("20"), &out).ok());
  EXPECT_EQ(d.table_entries(), 0u);
  EXPECT_FALSE(d.Decode(Hex("be"), &out).ok());
}

TEST(Hpack, RejectsSizeUpdatePastOurLimitAndBadIndexes) {
  Decoder d(4096);
  std::vector<HeaderField> out;
  std::string grow;
  EncodeInteger(8192, 5, 0x20, &grow);
  EXPECT_FALSE(d.Decode(grow, &out).ok());
  EXPECT_FALSE(d.Decode(Hex("80"), &out).ok());  // index 0
  EXPECT_FALSE(d.Decode(Hex("ff00"), &out).ok());  // index 127 + 0: past both tables
  EXPECT_FALSE(d.Decode(Hex("0003"), &out).ok());  // string longer than the block
}

TEST(Hpack, LiteralWithoutIndexingRoundTrips) {
  std::string block;
  EncodeLiteral(":path", "/grpc.health.v1.Health/Check", &block);
  EncodeLiteral("te", "trailers", &block);
  Decoder d;
  std::vector<HeaderField> out;
  ASSERT_TRUE(d.Decode(block, &out).ok());
  EXPECT_EQ(Render(out), ":path=/grpc.health.v1.Health/Check;te=trailers;");
  EXPECT_EQ(d.table_entries(), 0u);  // nothing was indexed
}

TEST(Hpack, StaticTableEntries) {
  Decoder d;
  std::vector<HeaderField> out;
  // Indexed 2 (:method GET), 8 (:status 200) and 61 (www-authenticate, the last entry).
  ASSERT_TRUE(d.Decode(Hex("8288bd"), &out).ok());
  EXPECT_EQ(Render(out), ":method=GET;:status=200;www-authenticate=;");
  // Literal without indexing, name from static entry 31 (4-bit prefix: 0x0f then 16), raw value.
  out.clear();
  std::string lit = Hex("0f10");
  lit += static_cast<char>(16);
  lit += "application/grpc";
  ASSERT_TRUE(d.Decode(lit, &out).ok());
  EXPECT_EQ(Render(out), "content-type=application/grpc;");
}

}  // namespace
}  // namespace beacon::health::hpack
