#include "etcd/gateway_codec.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

// Wire samples below are verbatim answers of etcd 3.4.23's gateway (captured with curl).
namespace beacon::etcd::internal {
namespace {

std::string Render(const std::vector<KeyValue>& kvs) {
  std::string out;
  for (const KeyValue& kv : kvs) {
    out += kv.key + "=" + kv.value + "@" + std::to_string(kv.create_revision) + "/" +
           std::to_string(kv.mod_revision) + "/v" + std::to_string(kv.version) + "/l" +
           std::to_string(kv.lease) + " ";
  }
  return out;
}

TEST(EtcdBase64, RoundTripsEveryByte) {
  std::string all;
  for (int i = 0; i < 256; ++i) {
    all += static_cast<char>(i);
  }
  for (size_t len = 0; len <= all.size(); len += 1 + len / 3) {
    SCOPED_TRACE(len);
    const std::string in = all.substr(all.size() - len);
    auto decoded = Base64Decode(Base64Encode(in));
    ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
    EXPECT_EQ(*decoded, in);
  }
}

TEST(EtcdBase64, MatchesKnownVectors) {
  struct Case {
    std::string plain, encoded;
  };
  const Case cases[] = {{"", ""},        {"f", "Zg=="},        {"fo", "Zm8="},
                        {"foo", "Zm9v"}, {"foob", "Zm9vYg=="}, {"\x1f/\xff", "Hy//"},
                        {"a", "YQ=="}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.encoded);
    EXPECT_EQ(Base64Encode(c.plain), c.encoded);
    auto decoded = Base64Decode(c.encoded);
    ASSERT_TRUE(decoded.ok());
    EXPECT_EQ(*decoded, c.plain);
  }
}

TEST(EtcdBase64, RejectsMalformedInput) {
  for (const char* bad : {"Zg=", "Z===", "Zm9v!A==", "=Zg=", "Zg=a", "YQ==YQ=="}) {
    SCOPED_TRACE(bad);
    EXPECT_FALSE(Base64Decode(bad).ok());
  }
}

TEST(EtcdPrefixRangeEnd, IncrementsLastByteBelow0xff) {
  EXPECT_EQ(PrefixRangeEnd("a"), "b");
  EXPECT_EQ(PrefixRangeEnd("/svc/"), "/svc0");
  EXPECT_EQ(PrefixRangeEnd("a\xff"), "b");
  EXPECT_EQ(PrefixRangeEnd("\xff\xff"), std::string("\0", 1));
  EXPECT_EQ(PrefixRangeEnd(""), std::string("\0", 1));
}

TEST(EtcdRequests, RangeSpellsPrefixAndWholeKeyspace) {
  EXPECT_EQ(RangeRequestJson("a", false, false), R"({"key":"YQ=="})");
  EXPECT_EQ(RangeRequestJson("a", true, true),
            R"({"key":"YQ==","range_end":"Yg==","serializable":true})");
  EXPECT_EQ(RangeRequestJson("", true, false), R"({"key":"AA==","range_end":"AA=="})");
}

TEST(EtcdRequests, TxnCarriesComparesAndOps) {
  Compare mod;
  mod.key = "a";
  mod.number = 7;  // target kMod, result kEqual: the defaults
  Compare create;
  create.key = "b";
  create.target = Compare::Target::kCreate;
  Compare value{.key = "c",
                .target = Compare::Target::kValue,
                .result = Compare::Result::kNotEqual,
                .value = "x"};
  const std::string json = TxnRequestJson(
      {mod, create, value}, {Op::Put("a", "1", 42), Op::DeletePrefix("p")}, {Op::Get("a")});
  EXPECT_EQ(json, R"({"compare":[)"
                  R"({"key":"YQ==","target":"MOD","result":"EQUAL","mod_revision":"7"},)"
                  R"({"key":"Yg==","target":"CREATE","result":"EQUAL","create_revision":"0"},)"
                  R"({"key":"Yw==","target":"VALUE","result":"NOT_EQUAL","value":"eA=="}],)"
                  R"("success":[{"request_put":{"key":"YQ==","value":"MQ==","lease":"42"}},)"
                  R"({"request_delete_range":{"key":"cA==","range_end":"cQ=="}}],)"
                  R"("failure":[{"request_range":{"key":"YQ=="}}]})");
  EXPECT_TRUE(HasWrites({Op::Get("a"), Op::Delete("b")}));
  EXPECT_FALSE(HasWrites({Op::Get("a"), Op::GetPrefix("b")}));
}

TEST(EtcdRequests, WatchCreate) {
  EXPECT_EQ(WatchCreateRequestJson("a", 5, true),
            R"({"create_request":{"key":"YQ==","range_end":"Yg==","start_revision":"5",)"
            R"("progress_notify":true}})");
  EXPECT_EQ(WatchCreateRequestJson("a", 0, false),
            R"({"create_request":{"key":"YQ==","range_end":"Yg=="}})");
}

TEST(EtcdResponses, RangeWithAndWithoutKvs) {
  auto r = ParseRangeResponse(
      R"({"header":{"cluster_id":"15118495548433857066","member_id":"13668033151171901709",)"
      R"("revision":"5","raft_term":"2"},"kvs":[{"key":"YQ==","create_revision":"2",)"
      R"("mod_revision":"2","version":"1","value":"MQ=="},{"key":"Yg==","create_revision":"3",)"
      R"("mod_revision":"4","version":"2","lease":"99"}],"count":"2"})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->revision, 5);
  EXPECT_EQ(Render(r->kvs), "a=1@2/2/v1/l0 b=@3/4/v2/l99 ");

  auto empty = ParseRangeResponse(R"({"header":{"revision":"2"}})");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->revision, 2);
  EXPECT_TRUE(empty->kvs.empty());
}

TEST(EtcdResponses, TxnLinesRangesUpWithOps) {
  // A failed txn omits "succeeded"; responses follow the failure branch.
  const std::vector<Op> success = {Op::Put("a", "2")};
  const std::vector<Op> failure = {Op::Get("a"), Op::Put("z", "1"), Op::GetPrefix("q")};
  auto r = ParseTxnResponse(
      R"({"header":{"revision":"9"},"responses":[)"
      R"({"response_range":{"header":{"revision":"9"},"kvs":[{"key":"YQ==","create_revision":"2",)"
      R"("mod_revision":"8","version":"3","value":"MQ=="}],"count":"1"}},)"
      R"({"response_put":{"header":{"revision":"9"}}},)"
      R"({"response_range":{"header":{"revision":"9"}}}]})",
      success, failure);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->succeeded);
  EXPECT_EQ(r->revision, 9);
  ASSERT_EQ(r->ranges.size(), 2u);
  EXPECT_EQ(Render(r->ranges[0]), "a=1@2/8/v3/l0 ");
  EXPECT_TRUE(r->ranges[1].empty());

  auto ok = ParseTxnResponse(
      R"({"header":{"revision":"10"},"succeeded":true,"responses":[{"response_put":{}}]})", success,
      failure);
  ASSERT_TRUE(ok.ok());
  EXPECT_TRUE(ok->succeeded);
  EXPECT_TRUE(ok->ranges.empty());
}

TEST(EtcdResponses, UnaryErrorsMapToStatus) {
  const char* not_found =
      R"({"error":"etcdserver: requested lease not found","message":"etcdserver: requested )"
      R"(lease not found","code":5})";
  auto err = ParseGatewayError(not_found);
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->grpc_code, 5);
  EXPECT_EQ(StatusFromGatewayError(*err, "etcd").code(), StatusCode::kNotFound);
  EXPECT_FALSE(IsRetryableOnOtherMember(*err));
  EXPECT_EQ(ParseRangeResponse(not_found).status().code(), StatusCode::kNotFound);

  GatewayError no_leader{14, "etcdserver: no leader"};
  EXPECT_TRUE(IsRejectedBeforeProposal(no_leader));
  GatewayError not_leader{9, "etcdserver: not leader"};
  EXPECT_TRUE(IsRejectedBeforeProposal(not_leader));
  GatewayError timed_out{14, "etcdserver: request timed out"};
  EXPECT_FALSE(IsRejectedBeforeProposal(timed_out));
  EXPECT_TRUE(IsRetryableOnOtherMember(timed_out));
  EXPECT_EQ(StatusFromGatewayError(timed_out, "x").code(), StatusCode::kUnavailable);

  EXPECT_FALSE(ParseGatewayError(R"({"header":{"revision":"2"},"ID":"7","TTL":"5"})"));
  EXPECT_FALSE(ParseGatewayError("Not Found"));
}

TEST(EtcdResponses, LeaseGrantAndKeepAlive) {
  auto id = ParseLeaseGrantResponse(
      R"({"header":{"revision":"2"},"ID":"4111120267673681929","TTL":"5"})");
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*id, 4111120267673681929);

  auto ttl = ParseLeaseKeepAliveResponse(
      R"({"result":{"header":{"revision":"2"},"ID":"4111120267673681938","TTL":"5"}})"
      "\n",
      4111120267673681938);
  ASSERT_TRUE(ttl.ok());
  EXPECT_EQ(*ttl, 5);

  // An unknown lease: no error, just no TTL.
  auto gone = ParseLeaseKeepAliveResponse(R"({"result":{"header":{"revision":"2"},"ID":"123"}})"
                                          "\n",
                                          123);
  EXPECT_EQ(gone.status().code(), StatusCode::kNotFound);
}

TEST(EtcdResponses, WatchMessages) {
  auto created = ParseWatchMessage(R"({"result":{"header":{"revision":"2"},"created":true}})");
  ASSERT_TRUE(created.ok());
  EXPECT_TRUE(created->created);
  EXPECT_EQ(created->header_revision, 2);

  auto events = ParseWatchMessage(
      R"({"result":{"header":{"revision":"5"},"events":[{"kv":{"key":"YWI=","create_revision":"3",)"
      R"("mod_revision":"3","version":"1","value":"MQ=="}},{"type":"DELETE","kv":{"key":"YWI=",)"
      R"("mod_revision":"4"}}]}})");
  ASSERT_TRUE(events.ok()) << events.status().ToString();
  ASSERT_EQ(events->events.size(), 2u);
  EXPECT_EQ(events->events[0].type, WatchEvent::Type::kPut);
  EXPECT_EQ(events->events[0].kv.value, "1");
  EXPECT_EQ(events->events[1].type, WatchEvent::Type::kDelete);
  EXPECT_EQ(events->events[1].kv.key, "ab");
  EXPECT_EQ(events->events[1].kv.mod_revision, 4);

  // A compacted start revision: the header has no revision, the cancel carries the floor.
  auto compacted =
      ParseWatchMessage(R"({"result":{"header":{"cluster_id":"1","member_id":"2","raft_term":"2"},)"
                        R"("canceled":true,"compact_revision":"2"}})");
  ASSERT_TRUE(compacted.ok());
  EXPECT_TRUE(compacted->canceled);
  EXPECT_EQ(compacted->compact_revision, 2);

  auto error = ParseWatchMessage(
      R"({"error":{"grpc_code":14,"http_code":503,"message":"etcdserver: no leader",)"
      R"("http_status":"Service Unavailable"}})");
  ASSERT_TRUE(error.ok());
  ASSERT_TRUE(error->error.has_value());
  EXPECT_EQ(error->error->message, "etcdserver: no leader");
  EXPECT_EQ(error->error->grpc_code, 14);
}

TEST(EtcdJsonObjectSplitter, SplitsAcrossFeedsAndIgnoresBracesInStrings) {
  const std::string stream =
      "{\"result\":{\"a\":\"}{\\\"\"}}\n{\"b\":[{}, {\"c\":\"\\\\\"}]}\n  {\"d\":1}";
  // Byte by byte and all at once must give the same objects.
  for (size_t step : {size_t{1}, size_t{3}, stream.size()}) {
    SCOPED_TRACE(step);
    JsonObjectSplitter splitter;
    std::vector<std::string> got;
    for (size_t i = 0; i < stream.size(); i += step) {
      ASSERT_TRUE(splitter.Feed(stream.substr(i, step)).ok());
      while (auto obj = splitter.Next()) {
        got.push_back(*obj);
      }
    }
    ASSERT_EQ(got.size(), 3u);
    EXPECT_EQ(got[0], "{\"result\":{\"a\":\"}{\\\"\"}}");
    EXPECT_EQ(got[1], "{\"b\":[{}, {\"c\":\"\\\\\"}]}");
    EXPECT_EQ(got[2], "{\"d\":1}");
  }
}

TEST(EtcdJsonObjectSplitter, RejectsGarbageAndOversizedObjects) {
  JsonObjectSplitter splitter;
  EXPECT_EQ(splitter.Feed("x").code(), StatusCode::kInvalidArgument);

  JsonObjectSplitter small(8);
  EXPECT_TRUE(small.Feed("{\"a\":").ok());
  EXPECT_EQ(small.Feed("\"0123456\"}").code(), StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace beacon::etcd::internal
