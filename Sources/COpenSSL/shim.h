#ifndef BLINDMATCH_COPENSSL_SHIM_H
#define BLINDMATCH_COPENSSL_SHIM_H

// The low-level SHA-1/SHA-256/MD5 context structs are deprecated in OpenSSL 3 but are the fastest way to
// reuse a precomputed HMAC inner/outer state (see shared PERFORMANCE.md). Nothing else here is deprecated.
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/md5.h>
#include <openssl/params.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#endif
