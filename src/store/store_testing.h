/* TESTS ONLY: hooks into the group commit of aw_store_invite_redeem (store.c) and the SQLite
 * backend, for tests/test_group_commit.c. Not part of the store's API: nothing outside the
 * tests includes this header, and with the hooks unset (the default) they change nothing. */
#ifndef AUTHWIRE_STORE_TESTING_H
#define AUTHWIRE_STORE_TESTING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* What the group commit of s's database did in this process: transactions (batches) run,
 * redeems they carried, and the largest batch; and what it is doing: redeems queued and not
 * taken yet, whether a leader holds a batch (gathering or committing it). */
typedef struct aw_store_group_stats {
    uint64_t batches;
    uint64_t items;
    uint64_t largest;
    uint64_t queued;
    bool committing;
} aw_store_group_stats;
aw_result aw_store_test_group_stats(aw_store *s, aw_store_group_stats *out) AW_MUST_CHECK;

/* From now on a thread that becomes the leader waits (at most 10 s) until n redeems are
 * queued before it takes them, so that a test knows they share one transaction; 0 (the
 * default) turns it off. Process-wide. */
void aw_store_test_gather(size_t n);

/* The COMMIT of the next batch fails (SQLite rolls it back), as a failing disk would. */
void aw_store_test_fail_next_commit(void);

#endif
