#include "catalog/check_list.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace beacon::catalog {
namespace {

std::shared_ptr<const Check> MakeCheck(const std::string& id, const std::string& output = "") {
  auto c = std::make_shared<Check>();
  c->id = id;
  c->output = output;
  return c;
}

std::vector<std::string> Ids(const CheckList& list) {
  std::vector<std::string> ids;
  for (const auto& c : list) ids.push_back(c->id);
  return ids;
}

TEST(CheckListTest, EmptyListFindsNothing) {
  CheckList list;
  EXPECT_TRUE(list.empty());
  EXPECT_EQ(list.size(), 0u);
  EXPECT_EQ(list.Find("a"), nullptr);
  EXPECT_EQ(list.Erase("a"), nullptr);
}

TEST(CheckListTest, IteratesInIdOrderWhateverTheInsertOrder) {
  CheckList list;
  for (const char* id : {"service:web:2", "a", "service:web", "Z", "m"}) list.Put(MakeCheck(id));
  EXPECT_EQ(Ids(list), (std::vector<std::string>{"Z", "a", "m", "service:web", "service:web:2"}));
  EXPECT_EQ(list.size(), 5u);
  ASSERT_NE(list.Find("m"), nullptr);
  EXPECT_EQ(list.Find("m")->id, "m");
  EXPECT_EQ(list.Find("service:we"), nullptr);
  EXPECT_EQ(list.Find("z"), nullptr);  // IDs are case-sensitive
}

TEST(CheckListTest, PutReplacesTheCheckWithTheSameId) {
  CheckList list;
  list.Put(MakeCheck("a", "old"));
  list.Put(MakeCheck("b"));
  list.Put(MakeCheck("a", "new"));
  EXPECT_EQ(Ids(list), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(list.Find("a")->output, "new");
}

TEST(CheckListTest, EraseReturnsTheRemovedCheckAndKeepsTheOrder) {
  CheckList list;
  for (const char* id : {"c", "a", "b", "d"}) list.Put(MakeCheck(id));
  std::shared_ptr<const Check> removed = list.Erase("b");
  ASSERT_NE(removed, nullptr);
  EXPECT_EQ(removed->id, "b");
  EXPECT_EQ(Ids(list), (std::vector<std::string>{"a", "c", "d"}));
  EXPECT_EQ(list.Erase("b"), nullptr);
  // The ID to erase may be the removed check's own.
  const Check* first = list.Find("a");
  EXPECT_NE(list.Erase(first->id), nullptr);
  EXPECT_EQ(Ids(list), (std::vector<std::string>{"c", "d"}));
}

TEST(CheckListTest, SharesTheRecordsItHolds) {
  auto check = MakeCheck("a");
  CheckList list;
  list.Put(check);
  EXPECT_EQ(list.Find("a"), check.get());
  EXPECT_EQ(check.use_count(), 2);
  list.Erase("a");
  EXPECT_EQ(check.use_count(), 1);
}

}  // namespace
}  // namespace beacon::catalog
