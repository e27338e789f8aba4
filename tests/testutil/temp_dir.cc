#include "testutil/temp_dir.h"

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <system_error>
#include <vector>

namespace beacon::testutil {

TempDir::TempDir(std::string_view prefix) {
  // getenv is only read here, in test setup; tests do not modify the environment concurrently.
  const char* tmpdir = std::getenv("TMPDIR");  // NOLINT(concurrency-mt-unsafe)
  std::string base = (tmpdir != nullptr && *tmpdir != '\0') ? tmpdir : "/tmp";
  while (base.size() > 1 && base.back() == '/') {
    base.pop_back();
  }
  std::string templ = base + "/" + std::string(prefix) + "-XXXXXX";
  std::vector<char> buf(templ.begin(), templ.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) == nullptr) {
    throw std::system_error(errno, std::generic_category(), "mkdtemp " + templ);
  }
  path_ = buf.data();
}

TempDir::~TempDir() {
  std::error_code ec;  // best effort: ignore failures, e.g. a file the test made read-only
  std::filesystem::remove_all(path_, ec);
}

std::string TempDir::Join(std::string_view name) const { return path_ + "/" + std::string(name); }

}  // namespace beacon::testutil
