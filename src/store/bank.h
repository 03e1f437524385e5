/* The demo API's data: accounts with balances, transfers between them, per-user notes.
 * It is what an attacker wants to tamper with, so every change is one SQLite transaction in
 * DIR/demo.db (WAL), and an amount moves from one account to another or not at all.
 * One aw_bank per thread. Errors: AW_E_NOT_FOUND (no such account), AW_E_CONFLICT
 * (insufficient funds), AW_E_INVALID_ARG, AW_E_STORE. */
#ifndef AUTHWIRE_STORE_BANK_H
#define AUTHWIRE_STORE_BANK_H

#include <stddef.h>
#include <stdint.h>

#include "authwire/result.h"

/* Every new account starts with this balance (in cents). */
#define AW_BANK_OPENING_BALANCE 10000

typedef struct aw_bank aw_bank;

aw_result aw_bank_open(const char *data_dir, aw_bank **out) AW_MUST_CHECK;
void aw_bank_close(aw_bank *b);

/* Opens user's account with the opening balance if it has none yet. */
aw_result aw_bank_ensure_account(aw_bank *b, const char *user) AW_MUST_CHECK;

aw_result aw_bank_balance(aw_bank *b, const char *user, int64_t *cents) AW_MUST_CHECK;

/* Moves cents (> 0) from one account to another existing one, atomically; *from_balance
 * gets the payer's new balance. AW_E_NOT_FOUND for an unknown payee, AW_E_CONFLICT when
 * the payer has too little, AW_E_INVALID_ARG for a non-positive amount or from == to. */
aw_result aw_bank_transfer(aw_bank *b, const char *from, const char *to, int64_t cents, int64_t now,
                           int64_t *from_balance) AW_MUST_CHECK;

/* Appends a note (1..4096 bytes, any bytes) for user; *id gets its number. */
aw_result aw_bank_note_add(aw_bank *b, const char *user, const uint8_t *text, size_t len,
                           int64_t now, int64_t *id) AW_MUST_CHECK;

/* Calls fn for each of user's notes, oldest first. */
typedef void (*aw_bank_note_fn)(int64_t id, int64_t created, const uint8_t *text, size_t len,
                                void *arg);
aw_result aw_bank_notes(aw_bank *b, const char *user, aw_bank_note_fn fn, void *arg) AW_MUST_CHECK;

#endif
