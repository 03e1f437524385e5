/* The report of a run: one row per attack on a terminal, or a JSON array (see attack.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attack.h"
#include "files.h"
#include "json.h"

static const char *outcome_name(const aw_attack_row *row)
{
    if (row->skipped) {
        return "skipped";
    }
    switch (row->result.outcome) {
    case AW_ATTACK_BLOCKED:
        return "blocked";
    case AW_ATTACK_SUCCEEDED:
        return "succeeded";
    case AW_ATTACK_ERROR:
        break;
    }
    return "error";
}

void aw_attack_report_print(const aw_attack_report *r, FILE *out)
{
    fprintf(out, "authwire attack: %zu attacks on %s as %s (%s mode)\n\n", r->n_rows, r->target,
            r->user, r->mode);
    /* Columns as wide as the longest id and verdict, so that the table stays aligned. */
    int id_w = 28, outcome_w = 34;
    for (size_t i = 0; i < r->n_rows; i++) {
        const aw_attack_row *row = &r->rows[i];
        int id_len = (int)strlen(row->attack->id);
        int verdict_len = 11 + (int)strlen(row->result.stopped_by); /* "BLOCKED by " */
        id_w = id_len > id_w ? id_len : id_w;
        if (!row->skipped && row->as_expected && verdict_len > outcome_w && verdict_len <= 48) {
            outcome_w = verdict_len;
        }
    }
    for (size_t i = 0; i < r->n_rows; i++) {
        const aw_attack_row *row = &r->rows[i];
        const aw_attack_result *res = &row->result;
        char outcome[160];
        if (row->skipped) {
            snprintf(outcome, sizeof(outcome), "skipped");
        } else if (res->outcome == AW_ATTACK_SUCCEEDED) {
            snprintf(outcome, sizeof(outcome), "SUCCEEDED");
        } else if (res->outcome == AW_ATTACK_ERROR) {
            snprintf(outcome, sizeof(outcome), "ERROR");
        } else if (row->as_expected) {
            snprintf(outcome, sizeof(outcome), "BLOCKED by %s", res->stopped_by);
        } else {
            snprintf(outcome, sizeof(outcome), "BLOCKED by %s (expected %s)",
                     res->stopped_by[0] != '\0' ? res->stopped_by : "?", row->expected);
        }
        fprintf(out, "%-*s %-*s %s\n", id_w, row->attack->id, outcome_w, outcome,
                row->attack->description);
        if (row->skipped) {
            fprintf(out, "%-*s because %s\n", id_w, "", res->detail);
            continue;
        }
        if (res->outcome != AW_ATTACK_BLOCKED || !row->as_expected) {
            fprintf(out, "%-*s what happened: %s\n", id_w, "", res->detail);
        }
        fprintf(out, "%-*s observer: %s\n", id_w, "", res->observed);
    }
    fprintf(out,
            "\n%zu attacks: %zu blocked (%zu by the expected defence), %zu succeeded, %zu "
            "skipped, %zu errors\n",
            r->n_rows, r->blocked, r->blocked - r->unexpected, r->succeeded, r->skipped, r->errors);
}

void aw_attack_report_json_rows(const aw_attack_report *r, aw_json_writer *jw)
{
    for (size_t i = 0; i < r->n_rows; i++) {
        const aw_attack_row *row = &r->rows[i];
        const aw_attack_result *res = &row->result;
        aw_json_begin_object(jw);
        aw_json_key(jw, "id");
        aw_json_string(jw, row->attack->id);
        aw_json_key(jw, "description");
        aw_json_string(jw, row->attack->description);
        aw_json_key(jw, "threat");
        aw_json_string(jw, row->attack->threat);
        aw_json_key(jw, "expected");
        aw_json_string(jw, row->expected);
        aw_json_key(jw, "outcome");
        aw_json_string(jw, outcome_name(row));
        aw_json_key(jw, "as_expected");
        aw_json_bool(jw, row->as_expected);
        aw_json_key(jw, "stopped_by");
        aw_json_string(jw, row->skipped ? "" : res->stopped_by);
        aw_json_key(jw, "observed");
        aw_json_string(jw, row->skipped ? "" : res->observed);
        aw_json_key(jw, "detail");
        aw_json_string(jw, res->detail);
        aw_json_key(jw, "ms");
        aw_json_int(jw, (int64_t)(row->seconds * 1000.0));
        aw_json_end_object(jw);
    }
}

aw_result aw_attack_report_json(const aw_attack_report *r, const char *path)
{
    size_t cap = 4096 + r->n_rows * 4096;
    uint8_t *buf = malloc(cap);
    AW_ENSURE(buf != NULL, AW_E_INTERNAL);
    aw_writer w;
    aw_writer_init(&w, buf, cap);
    aw_json_writer jw;
    aw_json_writer_init(&jw, &w, true);
    aw_json_begin_array(&jw);
    aw_attack_report_json_rows(r, &jw);
    aw_json_end_array(&jw);
    aw_writer_cstr(&w, "\n");
    aw_result res = aw_json_writer_result(&jw);
    if (res == AW_OK) {
        res = aw_writer_result(&w);
    }
    if (res == AW_OK) {
        res = aw_file_write_atomic(path, buf, w.len, 0644, 0);
    }
    free(buf);
    return res;
}

void aw_attack_report_free(aw_attack_report *r)
{
    free(r->rows);
    memset(r, 0, sizeof(*r));
}
