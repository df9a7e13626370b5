#ifndef DELTAFLOW_LIBFUZZER_H
#define DELTAFLOW_LIBFUZZER_H
#include <stddef.h>
#include <stdint.h>

// libFuzzer's entry for programs with their own main (LLVM 13 and later). Only linked when
// building with -sanitize=fuzzer; declared here so Swift can call it.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
