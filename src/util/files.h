/* authwire-util: whole files, read with a size cap and written atomically.
 *
 * These are for the small files of a data directory and of a client (keys, certificates,
 * credential files), which may hold secrets: every buffer that held file contents is wiped
 * before it is freed, and a file meant to be private can be required to be 0600-like (no
 * permission for group or others). Errors: AW_E_NOT_FOUND (no such file), AW_E_EXISTS,
 * AW_E_TOO_LARGE, AW_E_FORBIDDEN (group or others have access to a private file), AW_E_IO
 * for anything else, with errno kept for strerror. */
#ifndef AUTHWIRE_UTIL_FILES_H
#define AUTHWIRE_UTIL_FILES_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "authwire/result.h"

/* aw_file_read: refuse the file when group or others have any permission on it. */
#define AW_FILE_PRIVATE 1u
/* aw_file_write_atomic: fail with AW_E_EXISTS instead of replacing an existing file. */
#define AW_FILE_NO_REPLACE 2u

/* Reads the whole file at path into a malloc'd buffer, NUL-terminated (the NUL is not
 * counted in *len); release it with aw_file_free. More than max bytes: AW_E_TOO_LARGE.
 * With AW_FILE_PRIVATE the permission check is made on the opened file (no race). */
aw_result aw_file_read(const char *path, size_t max, unsigned flags, uint8_t **out,
                       size_t *len) AW_MUST_CHECK;

/* Wipes len + 1 bytes (the contents and the NUL) and frees; NULL is ignored. */
void aw_file_free(uint8_t *data, size_t len);

/* Writes data to path so that a reader sees either the old file or the whole new one, even
 * after a crash: a temporary file in the same directory created with mode (the process
 * umask does not apply), written, fsynced, then renamed over path (or, with
 * AW_FILE_NO_REPLACE, linked to path, which fails if path exists), and the directory
 * fsynced. The temporary file is removed on every failure. */
aw_result aw_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
                               unsigned flags) AW_MUST_CHECK;

/* AW_OK when path exists and neither group nor others have any permission on it;
 * AW_E_FORBIDDEN otherwise, AW_E_NOT_FOUND when it does not exist. */
aw_result aw_file_check_private(const char *path) AW_MUST_CHECK;

#endif
