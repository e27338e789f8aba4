#include "etcd/client.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "testutil/etcd_cluster.h"
#include "testutil/eventually.h"
#include "testutil/free_port.h"

// These tests run against real etcd members (testutil/etcd_cluster.h). Every wait is bounded by
// Eventually(); none sleeps to make a point.
namespace beacon::etcd {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testutil::EtcdCluster;
using testutil::Eventually;

std::unique_ptr<Client> MakeClient(std::vector<std::string> endpoints,
                                   milliseconds request_timeout = seconds(3)) {
  ClientOptions options;
  options.endpoints = std::move(endpoints);
  options.connect_timeout = milliseconds(500);
  options.request_timeout = request_timeout;
  auto client = Client::Create(std::move(options));
  EXPECT_TRUE(client.ok()) << client.status().ToString();
  return client.ok() ? std::move(client).value() : nullptr;
}

std::string DeadEndpoint() { return "http://127.0.0.1:" + std::to_string(testutil::FreePort()); }

// Unconditional put; returns the revision it created.
int64_t Put(Client& client, const std::string& key, const std::string& value, int64_t lease = 0) {
  auto r = client.Txn({}, {Op::Put(key, value, lease)}, {});
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? r->revision : 0;
}

// Designated initializers that skip trailing members trip -Wmissing-field-initializers.
Compare CompareNumber(std::string key, Compare::Target target, int64_t number) {
  Compare c;
  c.key = std::move(key);
  c.target = target;
  c.number = number;
  return c;
}

std::string Render(const std::vector<KeyValue>& kvs) {
  std::string out;
  for (const KeyValue& kv : kvs) {
    out += (out.empty() ? "" : " ") + kv.key + "=" + kv.value;
  }
  return out;
}

// Collects watch updates from the watch thread.
class Updates {
 public:
  std::function<void(WatchUpdate)> Callback() {
    return [this](WatchUpdate u) {
      std::lock_guard lock(mu_);
      updates_.push_back(std::move(u));
    };
  }
  std::vector<WatchUpdate> Get() const {
    std::lock_guard lock(mu_);
    return updates_;
  }
  // "PUT k=v@rev" / "DELETE k@rev" for every event so far, in delivery order.
  std::vector<std::string> Events() const {
    std::vector<std::string> out;
    for (const WatchUpdate& u : Get()) {
      for (const WatchEvent& e : u.events) {
        out.push_back(e.type == WatchEvent::Type::kPut
                          ? "PUT " + e.kv.key + "=" + e.kv.value + "@" +
                                std::to_string(e.kv.mod_revision)
                          : "DELETE " + e.kv.key + "@" + std::to_string(e.kv.mod_revision));
      }
    }
    return out;
  }
  size_t CountEvents() const { return Events().size(); }
  size_t Count(StatusCode code) const {
    size_t n = 0;
    for (const WatchUpdate& u : Get()) {
      n += u.status.code() == code ? 1 : 0;
    }
    return n;
  }

 private:
  mutable std::mutex mu_;
  std::vector<WatchUpdate> updates_;
};

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const std::string& s : v) {
    out += s + "\n";
  }
  return out;
}

TEST(EtcdClient, PutGetAndPrefixRoundTripBinaryKeys) {
  EtcdCluster cluster(1);
  auto client = MakeClient(cluster.endpoints());
  ASSERT_NE(client, nullptr);

  const std::string binary_key = std::string("/kv/b\x1f\x00\xff", 7);
  const std::string binary_value = std::string("\x00\x01\xfe\xff\"{}\n", 8);
  const int64_t rev1 = Put(*client, "/kv/a", "1");
  const int64_t rev2 = Put(*client, binary_key, binary_value);
  Put(*client, "/kv/c", "");
  Put(*client, "/kw/outside", "x");
  EXPECT_GT(rev2, rev1);

  auto got = client->Get("/kv/a");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->kvs.size(), 1u);
  EXPECT_EQ(got->kvs[0].value, "1");
  EXPECT_EQ(got->kvs[0].create_revision, rev1);
  EXPECT_EQ(got->kvs[0].mod_revision, rev1);
  EXPECT_EQ(got->kvs[0].version, 1);
  EXPECT_GE(got->revision, rev2);

  auto bin = client->Get(binary_key, /*serializable=*/true);
  ASSERT_TRUE(bin.ok()) << bin.status().ToString();
  ASSERT_EQ(bin->kvs.size(), 1u);
  EXPECT_EQ(bin->kvs[0].key, binary_key);
  EXPECT_EQ(bin->kvs[0].value, binary_value);

  auto prefix = client->GetPrefix("/kv/");
  ASSERT_TRUE(prefix.ok()) << prefix.status().ToString();
  ASSERT_EQ(prefix->kvs.size(), 3u);
  EXPECT_EQ(prefix->kvs[0].key, "/kv/a");
  EXPECT_EQ(prefix->kvs[1].key, binary_key);
  EXPECT_EQ(prefix->kvs[2].key, "/kv/c");
  EXPECT_EQ(prefix->kvs[2].value, "");

  auto missing = client->Get("/kv/none");
  ASSERT_TRUE(missing.ok());
  EXPECT_TRUE(missing->kvs.empty());

  auto everything = client->GetPrefix("");
  ASSERT_TRUE(everything.ok());
  EXPECT_EQ(everything->kvs.size(), 4u);
}

TEST(EtcdClient, TxnComparesModRevision) {
  EtcdCluster cluster(1);
  auto client = MakeClient(cluster.endpoints());
  ASSERT_NE(client, nullptr);
  const int64_t rev = Put(*client, "/txn/k", "v1");

  const Compare same = CompareNumber("/txn/k", Compare::Target::kMod, rev);
  auto ok = client->Txn({same}, {Op::Put("/txn/k", "v2"), Op::Get("/txn/k")}, {Op::Get("/txn/k")});
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_TRUE(ok->succeeded);
  EXPECT_EQ(ok->revision, rev + 1);
  ASSERT_EQ(ok->ranges.size(), 1u);
  EXPECT_EQ(Render(ok->ranges[0]), "/txn/k=v2");

  // The same compare is stale now: the failure branch runs and reads the current value.
  auto stale =
      client->Txn({same}, {Op::Put("/txn/k", "v3")}, {Op::Get("/txn/k"), Op::GetPrefix("/txn/")});
  ASSERT_TRUE(stale.ok()) << stale.status().ToString();
  EXPECT_FALSE(stale->succeeded);
  ASSERT_EQ(stale->ranges.size(), 2u);
  ASSERT_EQ(stale->ranges[0].size(), 1u);
  EXPECT_EQ(stale->ranges[0][0].value, "v2");
  EXPECT_EQ(stale->ranges[0][0].mod_revision, rev + 1);
  EXPECT_EQ(Render(stale->ranges[1]), "/txn/k=v2");
  EXPECT_EQ(stale->revision, rev + 1);  // nothing was written
}

TEST(EtcdClient, CreateIfAbsent) {
  EtcdCluster cluster(1);
  auto client = MakeClient(cluster.endpoints());
  ASSERT_NE(client, nullptr);
  const Compare absent = CompareNumber("/lock", Compare::Target::kCreate, 0);

  auto first = client->Txn({absent}, {Op::Put("/lock", "me")}, {Op::Get("/lock")});
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_TRUE(first->succeeded);

  auto second = client->Txn({absent}, {Op::Put("/lock", "you")}, {Op::Get("/lock")});
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_FALSE(second->succeeded);
  ASSERT_EQ(second->ranges.size(), 1u);
  EXPECT_EQ(Render(second->ranges[0]), "/lock=me");

  // Value compares work too.
  Compare is_me{.key = "/lock",
                .target = Compare::Target::kValue,
                .result = Compare::Result::kEqual,
                .value = "me"};
  auto release = client->Txn({is_me}, {Op::Delete("/lock")}, {});
  ASSERT_TRUE(release.ok());
  EXPECT_TRUE(release->succeeded);
}

TEST(EtcdClient, DeleteAndDeletePrefix) {
  EtcdCluster cluster(1);
  auto client = MakeClient(cluster.endpoints());
  ASSERT_NE(client, nullptr);
  for (const char* key : {"/d/a", "/d/b", "/d/c/1", "/d/c/2", "/e"}) {
    Put(*client, key, "x");
  }
  auto del = client->Txn({}, {Op::Delete("/d/a"), Op::DeletePrefix("/d/c/")}, {});
  ASSERT_TRUE(del.ok()) << del.status().ToString();
  EXPECT_TRUE(del->succeeded);

  auto rest = client->GetPrefix("/");
  ASSERT_TRUE(rest.ok());
  EXPECT_EQ(Render(rest->kvs), "/d/b=x /e=x");

  // Deleting what is not there succeeds and changes nothing.
  auto again = client->Txn({}, {Op::Delete("/d/a")}, {});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->revision, del->revision);
}

TEST(EtcdClient, LeaseKeepAliveAndRevokeDeletesKey) {
  EtcdCluster cluster(1);
  auto client = MakeClient(cluster.endpoints());
  ASSERT_NE(client, nullptr);

  auto lease = client->LeaseGrant(seconds(30));
  ASSERT_TRUE(lease.ok()) << lease.status().ToString();
  Put(*client, "/session", "alive", *lease);
  auto got = client->Get("/session");
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->kvs.size(), 1u);
  EXPECT_EQ(got->kvs[0].lease, *lease);

  auto ttl = client->LeaseKeepAlive(*lease);
  ASSERT_TRUE(ttl.ok()) << ttl.status().ToString();
  EXPECT_GT(*ttl, 0);
  EXPECT_LE(*ttl, 30);

  ASSERT_TRUE(client->LeaseRevoke(*lease).ok());
  auto gone = client->Get("/session");
  ASSERT_TRUE(gone.ok());
  EXPECT_TRUE(gone->kvs.empty());

  EXPECT_EQ(client->LeaseKeepAlive(*lease).status().code(), StatusCode::kNotFound);
  Status again = client->LeaseRevoke(*lease);
  EXPECT_EQ(again.code(), StatusCode::kNotFound) << again.ToString();
  EXPECT_EQ(client->LeaseGrant(seconds(0)).status().code(), StatusCode::kInvalidArgument);
}

TEST(EtcdClient, LeaseExpiryDeletesKey) {
  EtcdCluster cluster(1);
  auto client = MakeClient(cluster.endpoints());
  ASSERT_NE(client, nullptr);
  auto lease = client->LeaseGrant(seconds(1));
  ASSERT_TRUE(lease.ok()) << lease.status().ToString();
  Put(*client, "/ephemeral", "x", *lease);

  EXPECT_TRUE(Eventually(
      [&] {
        auto got = client->Get("/ephemeral");
        return got.ok() && got->kvs.empty();
      },
      seconds(10), milliseconds(100)));
  EXPECT_EQ(client->LeaseKeepAlive(*lease).status().code(), StatusCode::kNotFound);
}

TEST(EtcdClient, FailsOverWhenFirstEndpointIsDead) {
  EtcdCluster cluster(1);
  auto client = MakeClient({DeadEndpoint(), cluster.endpoint(0)});
  ASSERT_NE(client, nullptr);

  // Writes fail over too: a refused connection proves the request never arrived.
  const int64_t rev = Put(*client, "/fo", "1");
  EXPECT_GT(rev, 0);
  EXPECT_EQ(client->CurrentEndpoint(), cluster.endpoint(0));
  auto got = client->Get("/fo");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(Render(got->kvs), "/fo=1");
}

TEST(EtcdClient, UnavailableNamesEveryEndpointWhenNothingListens) {
  const std::string a = DeadEndpoint();
  const std::string b = DeadEndpoint();
  auto client = MakeClient({a, b});
  ASSERT_NE(client, nullptr);

  const auto start = std::chrono::steady_clock::now();
  auto got = client->Get("/x");
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(3));
  ASSERT_EQ(got.status().code(), StatusCode::kUnavailable) << got.status().ToString();
  EXPECT_NE(got.status().message().find(a), std::string::npos) << got.status().message();
  EXPECT_NE(got.status().message().find(b), std::string::npos) << got.status().message();
  EXPECT_NE(got.status().message().find("connect"), std::string::npos) << got.status().message();

  auto txn = client->Txn({}, {Op::Put("/x", "1")}, {});
  EXPECT_EQ(txn.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(client->LeaseGrant(seconds(5)).status().code(), StatusCode::kUnavailable);
}

TEST(EtcdClient, CreateRejectsBadOptions) {
  EXPECT_EQ(Client::Create({}).status().code(), StatusCode::kInvalidArgument);
  ClientOptions https;
  https.endpoints = {"https://127.0.0.1:2379"};
  EXPECT_EQ(Client::Create(https).status().code(), StatusCode::kInvalidArgument);
}

TEST(EtcdWatch, DeliversPutsAndDeletesInOrderFromStartRevision) {
  EtcdCluster cluster(1);
  auto client = MakeClient(cluster.endpoints());
  ASSERT_NE(client, nullptr);

  // History from before the watch exists is replayed from the start revision.
  const int64_t r1 = Put(*client, "/w/a", "1");
  const int64_t r2 = Put(*client, "/w/b", "2");
  auto del = client->Txn({}, {Op::Delete("/w/a")}, {});
  ASSERT_TRUE(del.ok());
  const int64_t r3 = del->revision;
  Put(*client, "/x/outside", "no");

  Updates updates;
  auto watch = client->WatchPrefix("/w/", r1, updates.Callback());
  ASSERT_TRUE(watch.ok()) << watch.status().ToString();

  const int64_t r5 = Put(*client, "/w/c", "3");
  auto del_prefix = client->Txn({}, {Op::DeletePrefix("/w/")}, {});
  ASSERT_TRUE(del_prefix.ok());
  const int64_t r6 = del_prefix->revision;

  const std::vector<std::string> want = {
      "PUT /w/a=1@" + std::to_string(r1),  "PUT /w/b=2@" + std::to_string(r2),
      "DELETE /w/a@" + std::to_string(r3), "PUT /w/c=3@" + std::to_string(r5),
      "DELETE /w/b@" + std::to_string(r6), "DELETE /w/c@" + std::to_string(r6),
  };
  EXPECT_TRUE(Eventually([&] { return updates.CountEvents() >= want.size(); }, seconds(10)))
      << Join(updates.Events());
  EXPECT_EQ(Join(updates.Events()), Join(want));
  for (const WatchUpdate& u : updates.Get()) {
    EXPECT_TRUE(u.status.ok()) << u.status.ToString();
    if (!u.events.empty()) {
      EXPECT_GE(u.header_revision, u.events.back().kv.mod_revision);
    }
  }
}

TEST(EtcdWatch, StartRevisionZeroMeansFromNow) {
  EtcdCluster cluster(1);
  auto client = MakeClient(cluster.endpoints());
  ASSERT_NE(client, nullptr);
  Put(*client, "/n/old", "1");

  Updates updates;
  auto watch = client->WatchPrefix("/n/", 0, updates.Callback(), /*progress_notify=*/false);
  ASSERT_TRUE(watch.ok());
  // The watch is created asynchronously: keep writing until one write is seen.
  int i = 0;
  EXPECT_TRUE(Eventually(
      [&] {
        Put(*client, "/n/new" + std::to_string(i++), "x");
        return updates.CountEvents() > 0;
      },
      seconds(10), milliseconds(50)));
  for (const std::string& e : updates.Events()) {
    EXPECT_EQ(e.find("/n/old"), std::string::npos) << e;
  }
}

TEST(EtcdWatch, CompactedStartRevisionIsAborted) {
  EtcdCluster cluster(1);
  auto client = MakeClient(cluster.endpoints());
  ASSERT_NE(client, nullptr);
  int64_t last = 0;
  for (int i = 0; i < 5; ++i) {
    last = Put(*client, "/c/k", std::to_string(i));
  }
  std::string error;
  ASSERT_TRUE(cluster.Compact(last, &error)) << error;

  Updates updates;
  auto watch = client->WatchPrefix("/c/", 1, updates.Callback());
  ASSERT_TRUE(watch.ok());
  ASSERT_TRUE(Eventually([&] { return !updates.Get().empty(); }, seconds(10)));
  const WatchUpdate first = updates.Get().front();
  EXPECT_EQ(first.status.code(), StatusCode::kAborted) << first.status.ToString();
  EXPECT_EQ(first.compact_revision, last);
  EXPECT_TRUE(first.events.empty());
}

TEST(EtcdWatch, ReportsOutageOnceAndResumes) {
  EtcdCluster cluster(1);
  auto client = MakeClient(cluster.endpoints());
  ASSERT_NE(client, nullptr);
  const int64_t r1 = Put(*client, "/o/1", "a");

  Updates updates;
  auto watch = client->WatchPrefix("/o/", r1, updates.Callback());
  ASSERT_TRUE(watch.ok());
  ASSERT_TRUE(Eventually([&] { return updates.CountEvents() == 1; }, seconds(10)));

  cluster.Kill(0);
  ASSERT_TRUE(Eventually([&] { return updates.Count(StatusCode::kUnavailable) > 0; }, seconds(10)));
  const WatchUpdate outage = updates.Get().back();
  EXPECT_NE(outage.status.message().find(cluster.endpoint(0)), std::string::npos)
      << outage.status.ToString();

  cluster.Restart(0);
  int64_t r2 = 0;
  ASSERT_TRUE(Eventually(
      [&] {
        auto r = client->Txn({}, {Op::Put("/o/2", "b")}, {});
        r2 = r.ok() ? r->revision : 0;
        return r.ok();
      },
      seconds(10), milliseconds(100)));
  ASSERT_TRUE(Eventually([&] { return updates.CountEvents() >= 2; }, seconds(10)));
  EXPECT_EQ(Join(updates.Events()),
            Join({"PUT /o/1=a@" + std::to_string(r1), "PUT /o/2=b@" + std::to_string(r2)}));
  // However many reconnect attempts failed while etcd was down: one report per outage, and one
  // empty OK update when the watch was back.
  std::string statuses;
  for (const WatchUpdate& u : updates.Get()) {
    statuses +=
        std::string(StatusCodeName(u.status.code())) + "/" + std::to_string(u.events.size()) + " ";
  }
  EXPECT_EQ(statuses, "OK/1 Unavailable/0 OK/0 OK/1 ");
}

TEST(EtcdWatch, SurvivesMemberKillWithoutLosingOrRepeatingEvents) {
  EtcdCluster cluster(3);
  ASSERT_GE(cluster.LeaderIndex(), 0);
  auto watch_client = MakeClient(cluster.endpoints());  // the watch starts on member 0
  // A write in flight to a killed leader hangs until the client's timeout: keep that short.
  auto writer = MakeClient(cluster.endpoints(), seconds(1));
  ASSERT_NE(watch_client, nullptr);
  ASSERT_NE(writer, nullptr);
  auto head = writer->Get("/none");
  ASSERT_TRUE(head.ok()) << head.status().ToString();

  Updates updates;
  auto watch = watch_client->WatchPrefix("/s/", head->revision + 1, updates.Callback());
  ASSERT_TRUE(watch.ok());

  // Create-if-absent makes a retry after an ambiguous failure (leader lost mid-request) safe:
  // every key is written exactly once whatever the writer saw.
  constexpr int kKeys = 40;
  auto write = [&](int i) {
    char key[16];
    std::snprintf(key, sizeof(key), "/s/%02d", i);
    const Compare absent = CompareNumber(key, Compare::Target::kCreate, 0);
    return Eventually([&] { return writer->Txn({absent}, {Op::Put(key, "v")}, {}).ok(); },
                      seconds(10), milliseconds(50));
  };
  for (int i = 0; i < kKeys / 2; ++i) {
    ASSERT_TRUE(write(i)) << i;
  }
  ASSERT_TRUE(Eventually([&] { return updates.CountEvents() >= kKeys / 2; }, seconds(10)));
  cluster.Kill(0);
  for (int i = kKeys / 2; i < kKeys; ++i) {
    ASSERT_TRUE(write(i)) << i;
  }
  ASSERT_TRUE(Eventually([&] { return updates.CountEvents() >= kKeys; }, seconds(15)))
      << Join(updates.Events());

  std::vector<std::string> keys;
  int64_t last_revision = 0;
  for (const WatchUpdate& u : updates.Get()) {
    for (const WatchEvent& e : u.events) {
      EXPECT_EQ(e.type, WatchEvent::Type::kPut);
      EXPECT_GT(e.kv.mod_revision, last_revision) << e.kv.key;
      last_revision = e.kv.mod_revision;
      keys.push_back(e.kv.key);
    }
  }
  std::vector<std::string> want;
  for (int i = 0; i < kKeys; ++i) {
    char key[16];
    std::snprintf(key, sizeof(key), "/s/%02d", i);
    want.emplace_back(key);
  }
  EXPECT_EQ(Join(keys), Join(want));
  // Two members stayed up all along, so this was normally no outage. One report is possible
  // (not likely) if the reconnect raced the election and both survivors refused a new watch
  // with "no leader".
  EXPECT_LE(updates.Count(StatusCode::kUnavailable), 1u);
}

// A member cut off from its peers (here: the peers are frozen) answers "no leader" at once
// because every request carries gRPC metadata hasleader; without it the request would hang
// until the request timeout. The watch on that member reports the outage and resumes.
TEST(EtcdWatch, LeaderlessMemberAnswersNoLeaderQuickly) {
  EtcdCluster cluster(3);
  auto client = MakeClient({cluster.endpoint(0)});
  ASSERT_NE(client, nullptr);
  const int64_t r1 = Put(*client, "/l/1", "a");
  Updates updates;
  auto watch = client->WatchPrefix("/l/", r1, updates.Callback());
  ASSERT_TRUE(watch.ok());
  ASSERT_TRUE(Eventually([&] { return updates.CountEvents() == 1; }, seconds(10)));

  cluster.Freeze(1);
  cluster.Freeze(2);
  // Serializable reads answer at once whether or not a leader is known, so they show when
  // member 0 has noticed; a linearizable read sent earlier would wait for a read index.
  Status last;
  ASSERT_TRUE(Eventually(
      [&] {
        last = client->Get("/l/1", /*serializable=*/true).status();
        return last.message().find("no leader") != std::string::npos;
      },
      seconds(10), milliseconds(50)))
      << last.ToString();
  EXPECT_EQ(last.code(), StatusCode::kUnavailable);
  // A write is refused just as fast (and, refused before any proposal, it is safe to retry).
  const auto start = std::chrono::steady_clock::now();
  auto txn = client->Txn({}, {Op::Put("/l/x", "x")}, {});
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(1));
  EXPECT_EQ(txn.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(txn.status().message().find("no leader"), std::string::npos) << txn.status().ToString();
  ASSERT_TRUE(
      Eventually([&] { return updates.Count(StatusCode::kUnavailable) == 1; }, seconds(10)));

  cluster.Thaw(1);
  cluster.Thaw(2);
  int64_t r2 = 0;
  ASSERT_TRUE(Eventually(
      [&] {
        auto r = client->Txn({}, {Op::Put("/l/2", "b")}, {});
        r2 = r.ok() ? r->revision : 0;
        return r.ok();
      },
      seconds(10), milliseconds(100)));
  ASSERT_TRUE(Eventually([&] { return updates.CountEvents() >= 2; }, seconds(10)));
  EXPECT_EQ(Join(updates.Events()),
            Join({"PUT /l/1=a@" + std::to_string(r1), "PUT /l/2=b@" + std::to_string(r2)}));
}

TEST(EtcdWatch, DestructionIsPrompt) {
  EtcdCluster cluster(1);
  auto client = MakeClient(cluster.endpoints());
  ASSERT_NE(client, nullptr);

  {  // Connected and idle: the read that never ends is interrupted.
    Updates updates;
    auto watch = client->WatchPrefix("/p/", 1, updates.Callback());
    ASSERT_TRUE(watch.ok());
    Put(*client, "/p/1", "x");
    ASSERT_TRUE(Eventually([&] { return updates.CountEvents() == 1; }, seconds(10)));
    const auto start = std::chrono::steady_clock::now();
    watch->reset();
    EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(500));
  }
  {  // Retrying against nothing: the backoff sleep is interrupted.
    auto dead = MakeClient({DeadEndpoint()});
    Updates updates;
    auto watch = dead->WatchPrefix("/p/", 1, updates.Callback());
    ASSERT_TRUE(watch.ok());
    ASSERT_TRUE(Eventually([&] { return updates.Count(StatusCode::kUnavailable) == 1; }));
    const auto start = std::chrono::steady_clock::now();
    watch->reset();
    EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(500));
  }
  {  // A callback may destroy its own watch.
    auto head = client->Get("/p/none");
    ASSERT_TRUE(head.ok());
    std::unique_ptr<Watch> self;
    std::mutex mu;
    std::atomic<int> calls{0};
    auto watch = client->WatchPrefix("/p/", head->revision + 1, [&](WatchUpdate) {
      ++calls;
      std::lock_guard lock(mu);
      self.reset();
    });
    ASSERT_TRUE(watch.ok());
    {
      std::lock_guard lock(mu);
      self = std::move(watch).value();
    }
    Put(*client, "/p/2", "y");
    ASSERT_TRUE(Eventually([&] {
      std::lock_guard lock(mu);
      return self == nullptr;
    }));
    EXPECT_EQ(calls.load(), 1);
  }
}

}  // namespace
}  // namespace beacon::etcd
