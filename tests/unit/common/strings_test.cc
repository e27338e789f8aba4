#include "common/strings.h"

#include <gtest/gtest.h>

namespace beacon {
namespace {

TEST(CompareIgnoreCase, OrdersLowerCasedBytes) {
  EXPECT_EQ(CompareIgnoreCase("Web", "web"), 0);
  EXPECT_LT(CompareIgnoreCase("api", "WEB"), 0);
  EXPECT_GT(CompareIgnoreCase("Web-2", "web-1"), 0);
  EXPECT_LT(CompareIgnoreCase("web", "web-1"), 0) << "a prefix sorts first";
  EXPECT_LT(CompareIgnoreCase("z", "\x80"), 0) << "bytes compare unsigned";
  // Upper-case letters fold before comparing: 'B' (0x42) sorts after 'a' as 'b'.
  EXPECT_GT(CompareIgnoreCase("B", "a"), 0);
}

}  // namespace
}  // namespace beacon
