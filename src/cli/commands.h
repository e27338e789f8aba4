// One entry point per subcommand; each takes argv starting at the subcommand's name and returns
// the process exit code (0 ok, 1 error, 2 usage; see client_common.h).
#pragma once

#include <string>
#include <vector>

namespace beacon::cli {

int RunAgent(int argc, char** argv);

// Client commands (issue #6): talk to an agent through include/beacon/.
int RunServices(int argc, char** argv);
int RunHealth(int argc, char** argv);
int RunRegister(int argc, char** argv);
int RunDeregister(int argc, char** argv);
int RunCheck(int argc, char** argv);
int RunWatch(int argc, char** argv);
int RunMembers(int argc, char** argv);
int RunDemo(int argc, char** argv);
// Hidden: one backend process of `beacon demo`.
int RunDemoBackend(int argc, char** argv);

// Consul's flags are single-dash long names (-data-dir, -http-port=0); CLI11 wants two dashes
// for long names. Rewrites "-name[=v]" to "--name[=v]" and leaves "--x", "-x" and values alone.
std::vector<std::string> ConsulStyleArgs(int argc, char** argv);

}  // namespace beacon::cli
