/* Whole-file read and atomic write (see files.h). */
#include "files.h"

#include "datadir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "authwire/crypto.h"

static aw_result errno_result(void)
{
    return errno == ENOENT ? AW_E_NOT_FOUND : AW_E_IO;
}

static bool mode_private(mode_t mode)
{
    return (mode & (S_IRWXG | S_IRWXO)) == 0;
}

aw_result aw_file_read(const char *path, size_t max, unsigned flags, uint8_t **out, size_t *len)
{
    aw_result r = AW_E_IO;
    struct stat st;
    uint8_t *buf = NULL;
    size_t cap = 0;
    size_t n = 0;
    int fd;

    AW_ENSURE(path != NULL && out != NULL && len != NULL, AW_E_INVALID_ARG);
    *out = NULL;
    *len = 0;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return errno_result();
    }
    if (fstat(fd, &st) != 0) {
        goto out;
    }
    if ((flags & AW_FILE_PRIVATE) != 0 && !mode_private(st.st_mode)) {
        r = AW_E_FORBIDDEN;
        goto out;
    }
    if (S_ISREG(st.st_mode) && st.st_size >= 0 && (uint64_t)st.st_size > max) {
        r = AW_E_TOO_LARGE;
        goto out;
    }
    /* Size the buffer from fstat for a regular file; anything else (a pipe) grows. One byte
     * more than the cap lets us tell "exactly max" from "more". */
    cap = S_ISREG(st.st_mode) && st.st_size >= 0 && (uint64_t)st.st_size <= max
              ? (size_t)st.st_size + 1
              : 4096;
    buf = malloc(cap + 1);
    if (buf == NULL) {
        goto out;
    }
    for (;;) {
        if (n == cap) {
            if (n > max) {
                r = AW_E_TOO_LARGE;
                goto out;
            }
            /* Grow by copy, wiping the old block: realloc would free it unwiped. */
            size_t grown_cap = cap * 2;
            uint8_t *grown = malloc(grown_cap + 1);
            if (grown == NULL) {
                goto out;
            }
            memcpy(grown, buf, n);
            aw_wipe(buf, cap + 1);
            free(buf);
            buf = grown;
            cap = grown_cap;
        }
        ssize_t got = read(fd, buf + n, cap - n);
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got < 0) {
            goto out;
        }
        if (got == 0) {
            break;
        }
        n += (size_t)got;
    }
    if (n > max) {
        r = AW_E_TOO_LARGE;
        goto out;
    }
    buf[n] = 0;
    *out = buf;
    *len = n;
    buf = NULL;
    r = AW_OK;

out:
    if (buf != NULL) {
        int saved = errno;
        aw_wipe(buf, cap + 1);
        free(buf);
        errno = saved;
    }
    close(fd);
    return r;
}

void aw_file_free(uint8_t *data, size_t len)
{
    if (data != NULL) {
        aw_wipe(data, len + 1);
        free(data);
    }
}

/* fsync of the directory holding path, so a rename or link survives a crash. */
static int fsync_parent(const char *path)
{
    const char *slash = strrchr(path, '/');
    char dir[4096];
    int fd;
    int rc;

    if (slash == NULL) {
        memcpy(dir, ".", 2);
    } else if (slash == path) {
        memcpy(dir, "/", 2);
    } else {
        size_t n = (size_t)(slash - path);
        if (n >= sizeof(dir)) {
            errno = ENAMETOOLONG;
            return -1;
        }
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        return -1;
    }
    rc = fsync(fd);
    close(fd);
    return rc;
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t put = write(fd, p, len);
        if (put < 0 && errno == EINTR) {
            continue;
        }
        if (put <= 0) {
            return -1;
        }
        p += put;
        len -= (size_t)put;
    }
    return 0;
}

aw_result aw_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
                               unsigned flags)
{
    aw_result r = AW_E_IO;
    char tmp[4096];
    int fd = -1;
    bool tmp_exists = false;
    int saved;

    AW_ENSURE(path != NULL && (data != NULL || len == 0), AW_E_INVALID_ARG);
    if (snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >= (int)sizeof(tmp)) {
        errno = ENAMETOOLONG;
        return AW_E_IO;
    }
    /* mkstemp creates the file 0600 whatever the umask; fchmod then sets the wanted mode
     * before any byte is written. */
    fd = mkstemp(tmp);
    if (fd < 0) {
        return errno_result();
    }
    tmp_exists = true;
    if (fchmod(fd, mode) != 0 || write_all(fd, data, len) != 0 || fsync(fd) != 0) {
        goto out;
    }
    if (close(fd) != 0) {
        fd = -1;
        goto out;
    }
    fd = -1;
    if ((flags & AW_FILE_NO_REPLACE) != 0) {
        /* link fails with EEXIST if path appeared meanwhile: no window for a replace. */
        if (link(tmp, path) != 0) {
            r = errno == EEXIST ? AW_E_EXISTS : AW_E_IO;
            goto out;
        }
        unlink(tmp);
    } else if (rename(tmp, path) != 0) {
        goto out;
    }
    tmp_exists = false;
    if (fsync_parent(path) != 0) {
        goto out;
    }
    r = AW_OK;

out:
    saved = errno;
    if (fd >= 0) {
        close(fd);
    }
    if (tmp_exists) {
        unlink(tmp);
    }
    errno = saved;
    return r;
}

aw_result aw_file_check_private(const char *path)
{
    struct stat st;
    AW_ENSURE(path != NULL, AW_E_INVALID_ARG);
    if (stat(path, &st) != 0) {
        return errno_result();
    }
    return mode_private(st.st_mode) ? AW_OK : AW_E_FORBIDDEN;
}

aw_result aw_data_path(const char *dir, const char *file, char *out, size_t cap)
{
    int n;
    AW_ENSURE(dir != NULL && file != NULL && out != NULL && cap > 0, AW_E_INVALID_ARG);
    n = snprintf(out, cap, "%s/%s", dir, file);
    return n >= 0 && (size_t)n < cap ? AW_OK : AW_E_BUFFER_TOO_SMALL;
}

aw_result aw_data_enroll_key(const char *dir, uint8_t pub[AW_X25519_PUBLIC_LEN])
{
    char path[4096];
    uint8_t *pem = NULL;
    size_t len = 0;
    AW_GUARD(aw_data_path(dir, AW_DATA_X25519_KEY, path, sizeof(path)));
    AW_GUARD(aw_file_read(path, 1u << 20, AW_FILE_PRIVATE, &pem, &len));
    aw_result r = aw_x25519_public_from_pem((const char *)pem, len, pub);
    aw_file_free(pem, len);
    return r;
}
