// End to end: a .mqm model file is loaded, verified, compiled into a Session and run.
#include "graph_fuzz.h"
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* d, size_t n) { return mq::fuzz::run_model_file(d, n, ".mqm"); }
