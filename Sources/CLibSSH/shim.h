#ifndef UNITAUDIT_CLIBSSH_SHIM_H
#define UNITAUDIT_CLIBSSH_SHIM_H
#include <libssh/libssh.h>
#include <libssh/callbacks.h>

/* A passphrase callback that never prompts: an encrypted key without a passphrase fails
   instead of libssh letting OpenSSL ask on the terminal. */
static inline int unitaudit_no_passphrase(const char *prompt, char *buf, size_t len, int echo,
                                          int verify, void *userdata) {
  (void)prompt; (void)buf; (void)len; (void)echo; (void)verify; (void)userdata;
  return -1;
}
#endif
