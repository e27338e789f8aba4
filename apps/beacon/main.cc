// The beacon binary: everything lives in src/cli; main only hands over argv.
#include "cli/cli.h"

int main(int argc, char** argv) { return beacon::cli::Main(argc, argv); }
