/* Scratch directories and behind-the-back database edits, for the tests of src/store. */
#ifndef AW_TEST_FIXTURE_H
#define AW_TEST_FIXTURE_H

#include <stdint.h>

#include "store.h"

/* Makes a fresh directory $TMPDIR/<prefix>-XXXXXX (exits loudly when it cannot) for
 * aw_test_path; aw_test_cleanup removes it. */
void aw_test_scratch(const char *prefix);
void aw_test_cleanup(void);

/* "<scratch>/name", in one of two rotating static buffers. */
const char *aw_test_path(const char *name);

/* A user to add: name, alg and mode as given, a 32-byte key of fill bytes, created at
 * 1700000000, not revoked. */
aw_user aw_test_user(const char *name, aw_alg alg, aw_fresh_mode mode, uint8_t fill);

/* Runs a shell command; a failure is a test failure. */
void aw_test_run(const char *cmd);

/* Runs sql on data_dir/authwire.db with the sqlite3 library, as a thief or a broken disk
 * would; a failure is a test failure. */
void aw_test_db_exec(const char *data_dir, const char *sql);

/* The first column of the first row sql returns on data_dir/authwire.db, as an integer
 * (-1 and a test failure when there is none). */
int64_t aw_test_db_int(const char *data_dir, const char *sql);

/* A barrier for forked children: each child calls aw_test_barrier_wait, which blocks until
 * the parent calls aw_test_barrier_release, so that they all start at once. */
typedef struct aw_test_barrier {
    int fd[2];
} aw_test_barrier;
void aw_test_barrier_init(aw_test_barrier *b);
void aw_test_barrier_wait(aw_test_barrier *b);    /* in a child */
void aw_test_barrier_release(aw_test_barrier *b); /* in the parent, after every fork */

#endif
