// ReadCache's per-instance health elements: encoded once per instance object, the same bytes as
// the wire encoder, and dropped once no snapshot holds their instance.
#include "http/read_cache.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "wire/encode.h"

namespace beacon::http {
namespace {

using catalog::Instance;

std::shared_ptr<const Instance> MakeInstance(const std::string& id) {
  auto node = std::make_shared<catalog::Node>();
  node->name = "node1";
  node->address = "10.0.0.1";
  auto service = std::make_shared<catalog::Service>();
  service->id = id;
  service->name = "web";
  service->port = 8080;
  auto check = std::make_shared<catalog::Check>();
  check->node = "node1";
  check->id = "service:" + id;
  check->service_id = id;
  check->service_name = "web";
  check->status = catalog::HealthStatus::kPassing;
  auto in = std::make_shared<Instance>();
  in->node = node;
  in->service = service;
  in->checks = {check};
  return in;
}

TEST(ReadCacheHealthEntry, SameBytesAsTheEncoderAndEncodedOncePerInstance) {
  ReadCache cache;
  auto a = MakeInstance("web-1");
  const std::string first = cache.HealthEntry(a, "dc1");
  EXPECT_EQ(first, wire::EncodeHealthServiceEntry(*a, "dc1"));
  EXPECT_EQ(cache.HealthEntry(a, "dc1"), first);
  EXPECT_EQ(cache.entry_count(), 1u);
  // A changed instance is a new object: its own element, not the old bytes.
  auto changed = MakeInstance("web-1");
  std::const_pointer_cast<catalog::Service>(changed->service)->port = 9090;
  const std::string second = cache.HealthEntry(changed, "dc1");
  EXPECT_NE(second, first);
  EXPECT_EQ(second, wire::EncodeHealthServiceEntry(*changed, "dc1"));
  EXPECT_EQ(cache.entry_count(), 2u);
  // Another datacenter name (not something an agent does) never reuses elements.
  EXPECT_EQ(cache.HealthEntry(a, "east"), wire::EncodeHealthServiceEntry(*a, "east"));
}

TEST(ReadCacheHealthEntry, ElementsOfInstancesNobodyHoldsAreDropped) {
  ReadCache cache;
  std::vector<std::shared_ptr<const Instance>> held;
  for (int i = 0; i < 1100; ++i) {
    held.push_back(MakeInstance("web-" + std::to_string(i)));
    cache.HealthEntry(held.back(), "dc1");
  }
  EXPECT_EQ(cache.entry_count(), 1100u);
  const size_t bytes = cache.entry_bytes();
  held.erase(held.begin(), held.begin() + 1000);  // as when newer snapshots replaced them
  // Sweeps are amortized (when the map has doubled since the last one): keep adding live
  // instances until one runs; it must drop exactly the 1,000 elements nobody holds.
  bool swept = false;
  for (int i = 0; i < 4000 && !swept; ++i) {
    const size_t before = cache.entry_count();
    held.push_back(MakeInstance("more-" + std::to_string(i)));
    cache.HealthEntry(held.back(), "dc1");
    swept = cache.entry_count() < before;
  }
  ASSERT_TRUE(swept);
  EXPECT_EQ(cache.entry_count(), held.size());
  for (const auto& in : held) {  // the survivors still answer with their own bytes
    EXPECT_EQ(cache.HealthEntry(in, "dc1"), wire::EncodeHealthServiceEntry(*in, "dc1"));
  }
  EXPECT_EQ(cache.entry_count(), held.size());
  EXPECT_GT(bytes, 0u);
}

}  // namespace
}  // namespace beacon::http
