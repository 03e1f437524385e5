/* src/util/files: size caps, private-file checks, atomic writes with a mode, no-replace. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "files.h"

static char g_dir[256];

static const char *path_in(const char *name)
{
    static char path[512];
    snprintf(path, sizeof(path), "%s/%s", g_dir, name);
    return path;
}

static unsigned mode_of(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        return 0xffff;
    }
    return (unsigned)(st.st_mode & 07777);
}

static size_t count_entries(void)
{
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "ls -A '%s' | wc -l", g_dir);
    FILE *p = popen(cmd, "r");
    unsigned long n = 0;
    if (p != NULL) {
        if (fscanf(p, "%lu", &n) != 1) {
            n = 0;
        }
        pclose(p);
    }
    return (size_t)n;
}

static void test_write_and_read(void)
{
    uint8_t *data = NULL;
    size_t len = 0;
    char a[512];

    snprintf(a, sizeof(a), "%s", path_in("a.txt"));
    /* The umask does not apply: the mode asked for is the mode set. */
    mode_t old = umask(0077);
    CHECK_OK(aw_file_write_atomic(a, "hello", 5, 0644, 0));
    umask(old);
    CHECK(mode_of(a) == 0644);
    CHECK_OK(aw_file_read(a, 5, 0, &data, &len));
    CHECK(len == 5 && memcmp(data, "hello", 6) == 0);
    aw_file_free(data, len);
    CHECK_RESULT(aw_file_read(a, 4, 0, &data, &len), AW_E_TOO_LARGE);
    CHECK(data == NULL && len == 0);
    CHECK_RESULT(aw_file_read(a, 1 << 20, AW_FILE_PRIVATE, &data, &len), AW_E_FORBIDDEN);
    CHECK_RESULT(aw_file_check_private(a), AW_E_FORBIDDEN);

    /* Replacing keeps it whole and takes the new mode; no temporary file is left. */
    CHECK_OK(aw_file_write_atomic(a, "secret!", 7, 0600, 0));
    CHECK(mode_of(a) == 0600);
    CHECK_OK(aw_file_check_private(a));
    CHECK_OK(aw_file_read(a, 7, AW_FILE_PRIVATE, &data, &len));
    CHECK(len == 7 && memcmp(data, "secret!", 7) == 0);
    aw_file_free(data, len);
    CHECK(count_entries() == 1);

    /* No-replace: an existing file is left alone, and no temporary file is left. */
    CHECK_RESULT(aw_file_write_atomic(a, "other", 5, 0600, AW_FILE_NO_REPLACE), AW_E_EXISTS);
    CHECK_OK(aw_file_read(a, 100, 0, &data, &len));
    CHECK(len == 7 && memcmp(data, "secret!", 7) == 0);
    aw_file_free(data, len);
    CHECK(count_entries() == 1);
    CHECK_OK(aw_file_write_atomic(path_in("b.txt"), "", 0, 0600, AW_FILE_NO_REPLACE));
    CHECK_OK(aw_file_read(path_in("b.txt"), 0, 0, &data, &len));
    CHECK(len == 0 && data != NULL && data[0] == 0);
    aw_file_free(data, len);

    /* Group or other bits of any kind make a file not private. */
    chmod(a, 0640);
    CHECK_RESULT(aw_file_check_private(a), AW_E_FORBIDDEN);
    chmod(a, 0602);
    CHECK_RESULT(aw_file_read(a, 100, AW_FILE_PRIVATE, &data, &len), AW_E_FORBIDDEN);
    chmod(a, 0400);
    CHECK_OK(aw_file_check_private(a));

    /* Missing files and directories. */
    CHECK_RESULT(aw_file_read(path_in("nope"), 10, 0, &data, &len), AW_E_NOT_FOUND);
    CHECK_RESULT(aw_file_check_private(path_in("nope")), AW_E_NOT_FOUND);
    CHECK_RESULT(aw_file_write_atomic(path_in("no/such/dir"), "x", 1, 0600, 0), AW_E_NOT_FOUND);

    /* A larger file read whole (the buffer is sized from fstat). */
    size_t big_len = 300000;
    uint8_t *big = malloc(big_len);
    CHECK(big != NULL);
    for (size_t i = 0; i < big_len; i++) {
        big[i] = (uint8_t)(i * 7);
    }
    CHECK_OK(aw_file_write_atomic(path_in("big"), big, big_len, 0600, 0));
    CHECK_OK(aw_file_read(path_in("big"), big_len, 0, &data, &len));
    CHECK(len == big_len && memcmp(data, big, big_len) == 0);
    aw_file_free(data, len);
    CHECK_RESULT(aw_file_read(path_in("big"), big_len - 1, 0, &data, &len), AW_E_TOO_LARGE);
    free(big);
}

static void test_pipe(void)
{
    /* A non-regular file grows its buffer and still honours the cap. */
    uint8_t *data = NULL;
    size_t len = 0;
    char fifo[512];
    snprintf(fifo, sizeof(fifo), "%s", path_in("fifo"));
    CHECK(mkfifo(fifo, 0600) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        FILE *f = fopen(fifo, "w");
        for (int i = 0; f != NULL && i < 10000; i++) {
            fputs("0123456789", f);
        }
        if (f != NULL) {
            fclose(f);
        }
        _exit(0);
    }
    CHECK_OK(aw_file_read(fifo, 100000, 0, &data, &len));
    CHECK(len == 100000 && data != NULL && memcmp(data + 99990, "0123456789", 10) == 0);
    aw_file_free(data, len);
    int status;
    waitpid(pid, &status, 0);
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(g_dir, sizeof(g_dir), "%s/aw-files-XXXXXX", tmp != NULL ? tmp : "/tmp");
    if (mkdtemp(g_dir) == NULL) {
        fprintf(stderr, "FATAL: mkdtemp: %s\n", strerror(errno));
        return 1;
    }
    test_write_and_read();
    test_pipe();
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "warning: could not remove %s\n", g_dir);
    }
    return aw_test_finish("test_files");
}
