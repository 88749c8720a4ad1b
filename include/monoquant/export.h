#pragma once
/// MONOQUANT_API marks what the monoquant library exports. The shared library is built with
/// hidden symbols: only what carries this mark (the public API below include/monoquant/)
/// is visible to programs that link it.
#if defined(_WIN32)
#define MONOQUANT_API
#else
#define MONOQUANT_API __attribute__((visibility("default")))
#endif
