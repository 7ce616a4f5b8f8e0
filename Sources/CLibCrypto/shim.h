#ifndef UNITAUDIT_CLIBCRYPTO_SHIM_H
#define UNITAUDIT_CLIBCRYPTO_SHIM_H
/* OpenSSL's libcrypto (Debian's libssl-dev, which libssh-dev depends on): signature checks
   of SSH certificates and the HMAC of hashed known_hosts names. */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/x509.h>
#endif
