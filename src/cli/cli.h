// The beacon command line: `beacon agent ...` and, later, the client subcommands (issue #6).
#pragma once

namespace beacon::cli {

// Runs the command named by argv[1]; returns the process exit code.
int Main(int argc, char** argv);

}  // namespace beacon::cli
