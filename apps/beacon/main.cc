// The beacon binary: everything lives in src/cli; main only hands over argv.
#include "cli/cli.h"

#ifdef BEACON_JEMALLOC
// Read by jemalloc at startup (MALLOC_CONF in the environment still overrides it). A background
// thread hands freed pages back to the OS about a second after they were last used, instead of
// on some later allocation: a server at rest after a burst (a load, a restart's decoding) drops
// back to its live size. muzzy_decay_ms:0 releases them outright rather than lazily (MADV_FREE
// pages still count in RSS until the kernel needs them). thp:always asks for transparent huge
// pages on the heap (madvise; a system with THP "never" ignores it): one page fault per 2 MiB
// instead of per 4 KiB. On a paravirtualised VM a fault costs ~10 us, so decoding a 100,000-
// instance catalog at restart spent about half its time faulting pages in; with it, W4's restart
// took 0.52-0.72 s instead of 1.12-1.41 s, for ~5 MB more RSS (docs/PERFORMANCE.md, item 13).
extern "C" {
// NOLINTNEXTLINE: the name and type are jemalloc's interface.
const char* malloc_conf = "background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0,thp:always";
}
#endif

int main(int argc, char** argv) { return beacon::cli::Main(argc, argv); }
