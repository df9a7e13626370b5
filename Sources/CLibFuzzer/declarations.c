// Nothing to compile: the module exists for its header (libFuzzer's driver entry point).
#include "libfuzzer.h"
