// TempDir: a fresh, private directory for one test, removed with everything in it on destruction.
//
// Created with mkdtemp(3) under $TMPDIR (or /tmp when unset), so parallel test processes never
// share one. Removal is best effort: a test must not fail because cleanup did.
#pragma once

#include <string>
#include <string_view>

namespace beacon::testutil {

class TempDir {
 public:
  // Creates "<$TMPDIR or /tmp>/<prefix>-XXXXXX". Throws std::system_error if that fails (GoogleTest
  // reports it as a failure of the test that asked for the directory).
  explicit TempDir(std::string_view prefix = "beacon-test");
  // Removes the directory recursively; never throws.
  ~TempDir();

  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  // Absolute path of the directory, without a trailing slash.
  const std::string& path() const { return path_; }
  // path() + "/" + name. Does not create anything.
  std::string Join(std::string_view name) const;

 private:
  std::string path_;
};

}  // namespace beacon::testutil
