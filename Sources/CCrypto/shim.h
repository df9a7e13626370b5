#ifndef DELTAFLOW_CCRYPTO_SHIM_H
#define DELTAFLOW_CCRYPTO_SHIM_H
#include <openssl/evp.h>
#endif
