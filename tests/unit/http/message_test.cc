// SharedBody: big cached bodies sent more than kCopySends times also get a sealed in-memory file
// the server sends with sendfile(2); small ones never do.
#include "http/message.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace beacon::http {
namespace {

std::string Pattern(size_t size) {
  std::string s(size, '\0');
  for (size_t i = 0; i < size; ++i) s[i] = static_cast<char>('a' + (i * 7) % 26);
  return s;
}

std::string ReadAll(int fd, size_t size) {
  std::string out(size + 16, '\0');
  ssize_t n = pread(fd, out.data(), out.size(), 0);
  out.resize(n < 0 ? 0 : static_cast<size_t>(n));
  return out;
}

// Sends `body` until it has a file; returns how many sends went by copy (-1: never a file).
int SendUntilFile(const SharedBody& body) {
  for (int copies = 0; copies <= SharedBody::kCopySends + 1; ++copies) {
    if (body.FileForSend() >= 0) return copies;
  }
  return -1;
}

TEST(SharedBody, SmallBodyHasNoFile) {
  SharedBody body(Pattern(SharedBody::kFileMinBytes - 1));
  EXPECT_EQ(SendUntilFile(body), -1);
  EXPECT_EQ(body.file(), -1);
  EXPECT_EQ(body.bytes(), Pattern(SharedBody::kFileMinBytes - 1));
}

TEST(SharedBody, BigBodyIsCopiedItsFirstSendsThenSentFromItsFile) {
  SharedBody body(Pattern(SharedBody::kFileMinBytes));
  EXPECT_EQ(body.file(), -1);
  EXPECT_EQ(SendUntilFile(body), SharedBody::kCopySends);
  const int fd = body.file();
  ASSERT_GE(fd, 0);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(body.FileForSend(), fd);  // the same file from then on
}

TEST(SharedBody, BigBodyFileHoldsExactlyTheBytesAndIsSealed) {
  const std::string bytes = Pattern(200 * 1024 + 3);
  SharedBody body(bytes);
  ASSERT_GE(SendUntilFile(body), 0);
  ASSERT_GE(body.file(), 0);
  EXPECT_EQ(body.bytes(), bytes);
  EXPECT_EQ(ReadAll(body.file(), bytes.size()), bytes);
  // Sealed: neither written nor resized by anyone.
  EXPECT_LT(pwrite(body.file(), "x", 1, 0), 0);
  EXPECT_NE(ftruncate(body.file(), 1), 0);
  EXPECT_EQ(ReadAll(body.file(), bytes.size()), bytes);
}

TEST(SharedBody, FileIsClosedWithTheBody) {
  int fd = -1;
  {
    SharedBody body(Pattern(SharedBody::kFileMinBytes));
    ASSERT_GE(SendUntilFile(body), 0);
    fd = body.file();
    ASSERT_GE(fd, 0);
    EXPECT_NE(fcntl(fd, F_GETFD), -1);
  }
  // The descriptor is no longer open (nothing else opened one in between on this thread).
  EXPECT_EQ(fcntl(fd, F_GETFD), -1);
}

TEST(SharedBody, FilesAreCappedAndBodiesPastTheCapAreStillWhole) {
  std::vector<std::unique_ptr<SharedBody>> bodies;
  const std::string bytes = Pattern(SharedBody::kFileMinBytes);
  for (int i = 0; i < SharedBody::kMaxFiles + 5; ++i) {
    bodies.push_back(std::make_unique<SharedBody>(bytes));
    SendUntilFile(*bodies.back());
  }
  int with_file = 0;
  for (const auto& b : bodies) {
    with_file += b->file() >= 0 ? 1 : 0;
    EXPECT_EQ(b->bytes(), bytes);
  }
  EXPECT_EQ(with_file, SharedBody::kMaxFiles);
  // Freeing one makes room for the next.
  bodies.erase(bodies.begin());
  SharedBody next(bytes);
  EXPECT_EQ(SendUntilFile(next), SharedBody::kCopySends);
}

}  // namespace
}  // namespace beacon::http
