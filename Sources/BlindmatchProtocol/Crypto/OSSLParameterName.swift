import COpenSSL
import Glibc

/// OSSL_PARAM keeps a pointer to its name, so names must outlive the call that builds the parameter: a Swift
/// string bridged to `const char *` lives only for that one call. These are allocated once and never freed.
enum OSSLParameterName {
    nonisolated(unsafe) static let digest = strdup(OSSL_KDF_PARAM_DIGEST)
    nonisolated(unsafe) static let key = strdup(OSSL_KDF_PARAM_KEY)
    nonisolated(unsafe) static let salt = strdup(OSSL_KDF_PARAM_SALT)
    nonisolated(unsafe) static let info = strdup(OSSL_KDF_PARAM_INFO)
    nonisolated(unsafe) static let macSalt = strdup(OSSL_MAC_PARAM_SALT)
    nonisolated(unsafe) static let macSize = strdup(OSSL_MAC_PARAM_SIZE)
}
