/* The client state file (see client.h): two integers, updated under a lock. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "client.h"
#include "files.h"

static int lock_open(const char *path)
{
    char lock_path[4096];
    if (snprintf(lock_path, sizeof(lock_path), "%s.lock", path) >= (int)sizeof(lock_path)) {
        return -1;
    }
    int fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd >= 0 && flock(fd, LOCK_EX) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void lock_close(int fd)
{
    flock(fd, LOCK_UN);
    close(fd);
}

aw_result aw_client_state_read(const char *path, aw_client_state *out)
{
    out->next_seq = 1;
    out->clock_offset = 0;
    uint8_t *text = NULL;
    size_t len = 0;
    aw_result r = aw_file_read(path, 4096, AW_FILE_PRIVATE, &text, &len);
    if (r == AW_E_NOT_FOUND) {
        return AW_OK;
    }
    AW_GUARD(r);
    unsigned long long seq = 0;
    long long offset = 0;
    int n = sscanf((const char *)text, "next_seq %llu\nclock_offset %lld", &seq, &offset);
    aw_file_free(text, len);
    AW_ENSURE(n == 2 && seq >= 1, AW_E_CORRUPT);
    out->next_seq = seq;
    out->clock_offset = offset;
    return AW_OK;
}

static aw_result state_write(const char *path, const aw_client_state *s)
{
    char text[128];
    int n = snprintf(text, sizeof(text), "next_seq %" PRIu64 "\nclock_offset %" PRId64 "\n",
                     s->next_seq, s->clock_offset);
    return aw_file_write_atomic(path, text, (size_t)n, 0600, 0);
}

aw_result aw_client_state_take_seq(const char *path, uint64_t *seq)
{
    int fd = lock_open(path);
    AW_ENSURE(fd >= 0, AW_E_IO);
    aw_client_state s;
    aw_result r = aw_client_state_read(path, &s);
    if (r == AW_OK && s.next_seq == UINT64_MAX) {
        r = AW_E_SEQ_TOO_OLD; /* the counter is spent: this key needs rotating */
    }
    if (r == AW_OK) {
        *seq = s.next_seq;
        s.next_seq++;
        /* Stored before the request leaves: a crash can skip a number, never reuse one. */
        r = state_write(path, &s);
    }
    lock_close(fd);
    return r;
}

aw_result aw_client_state_set_offset(const char *path, int64_t offset)
{
    int fd = lock_open(path);
    AW_ENSURE(fd >= 0, AW_E_IO);
    aw_client_state s;
    aw_result r = aw_client_state_read(path, &s);
    if (r == AW_OK) {
        s.clock_offset = offset;
        r = state_write(path, &s);
    }
    lock_close(fd);
    return r;
}
