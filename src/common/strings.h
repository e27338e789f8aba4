// Small string helpers shared by every layer.
#pragma once

#include <string>
#include <string_view>

namespace beacon {

// ASCII lower-casing: Consul compares service and node names case-insensitively (contract 4.0).
std::string AsciiLower(std::string_view s);
bool EqualsIgnoreCase(std::string_view a, std::string_view b);
// Three-way comparison of the ASCII-lower-cased bytes (unsigned), without allocating: <0, 0, >0.
int CompareIgnoreCase(std::string_view a, std::string_view b);
bool StartsWith(std::string_view s, std::string_view prefix);

}  // namespace beacon
