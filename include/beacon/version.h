// Version of the client library (the Beacon release it ships with).
#pragma once

namespace beacon::client {

inline constexpr int kVersionMajor = 0;
inline constexpr int kVersionMinor = 1;
inline constexpr int kVersionPatch = 0;
inline constexpr const char* kVersion = "0.1.0";

}  // namespace beacon::client
