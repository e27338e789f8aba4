// One entry point per subcommand; each takes argv starting at the subcommand's name.
#pragma once

#include <string>
#include <vector>

namespace beacon::cli {

int RunAgent(int argc, char** argv);

// Consul's flags are single-dash long names (-data-dir, -http-port=0); CLI11 wants two dashes
// for long names. Rewrites "-name[=v]" to "--name[=v]" and leaves "--x", "-x" and values alone.
std::vector<std::string> ConsulStyleArgs(int argc, char** argv);

}  // namespace beacon::cli
