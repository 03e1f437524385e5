/* authwire-util: the files of a data directory, as `authwire init --data DIR` lays it out.
 * One list of names for the store, the CLI and the gateway. */
#ifndef AUTHWIRE_UTIL_DATADIR_H
#define AUTHWIRE_UTIL_DATADIR_H

#include <stddef.h>
#include <stdint.h>

#include "authwire/crypto.h"
#include "authwire/result.h"

#define AW_DATA_DB            "authwire.db"        /* SQLite (WAL: also -wal, -shm), 0600 */
#define AW_DATA_MASTER_KEY    "master.key"         /* 32 raw bytes sealing user keys, 0600 */
#define AW_DATA_SIGNING_KEY   "server-ed25519.pem" /* server Ed25519 key (PKCS#8), 0600 */
#define AW_DATA_X25519_KEY    "server-x25519.pem"  /* server X25519 key for enrollment, 0600 */
#define AW_DATA_CA_CERT       "ca.pem"             /* local CA certificate, 0644 */
#define AW_DATA_CA_KEY        "ca.key"             /* local CA key, 0600 */
#define AW_DATA_TLS_CERT      "server.pem"         /* gateway TLS certificate, 0644 */
#define AW_DATA_TLS_KEY       "server.key"         /* gateway TLS key, 0600 */
#define AW_DATA_USERS_CHANGED "users.changed"      /* change counter, mapped by every process */

/* Writes "dir/file" into out; AW_E_BUFFER_TOO_SMALL when it does not fit. */
aw_result aw_data_path(const char *dir, const char *file, char *out, size_t cap) AW_MUST_CHECK;

/* The server's X25519 enrollment public key, from DIR/server-x25519.pem (which must be 0600):
 * what every invite token pins (its SHA-256: aw_enroll_fingerprint). The errors of
 * aw_file_read (errno kept for AW_E_IO and AW_E_NOT_FOUND; AW_E_FORBIDDEN when group or
 * others may read it), AW_E_KEY_INVALID when it holds no X25519 key. */
aw_result aw_data_enroll_key(const char *dir, uint8_t pub[AW_X25519_PUBLIC_LEN]) AW_MUST_CHECK;

#endif
