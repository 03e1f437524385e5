/* The built-in demo API (--demo-api): what an attacker on the path wants to tamper with.
 *
 *   GET  /api/whoami     {"user", "alg", "mode"}
 *   GET  /api/balance    {"user", "balance"}            (cents; every account opens with 100.00)
 *   POST /api/transfer   {"to": NAME, "amount": CENTS}  -> {"from", "to", "amount", "balance"}
 *   GET  /api/notes      {"notes": [{"id", "created", "text"}]}
 *   POST /api/notes      body = the note (1..4096 bytes) -> {"id"}
 *
 * Only authenticated requests reach it; the user is the key that signed. */
#include <stdlib.h>
#include <string.h>

#include "gateway.h"
#include "json.h"

#define API_OUT 65536

typedef struct api_out {
    uint8_t buf[API_OUT];
    aw_writer w;
    aw_json_writer jw;
} api_out;

static void out_begin(api_out *o)
{
    aw_writer_init(&o->w, o->buf, sizeof(o->buf));
    aw_json_writer_init(&o->jw, &o->w, false);
    aw_json_begin_object(&o->jw);
}

static void out_send(gw_exchange *x, api_out *o, int status)
{
    aw_json_end_object(&o->jw);
    if (aw_json_writer_result(&o->jw) != AW_OK) {
        gw_reply_error(x, AW_E_INTERNAL, "response does not fit");
        return;
    }
    gw_reply(x, status, "application/json", aw_writer_span_of(&o->w), NULL, 0);
}

static bool is(aw_span s, const char *lit)
{
    return aw_span_eq(s, aw_span_cstr(lit));
}

static void api_whoami(gw_exchange *x, api_out *o)
{
    aw_json_key(&o->jw, "user");
    aw_json_string(&o->jw, x->user->name);
    aw_json_key(&o->jw, "alg");
    aw_json_string(&o->jw, aw_alg_name(x->user->alg));
    aw_json_key(&o->jw, "mode");
    aw_json_string(&o->jw, aw_fresh_mode_name(x->user->mode));
    out_send(x, o, 200);
}

static void api_balance(gw_exchange *x, api_out *o)
{
    int64_t cents = 0;
    aw_result r = aw_bank_balance(x->w->bank, x->user->name, &cents);
    if (r != AW_OK) {
        gw_reply_error(x, r == AW_E_NOT_FOUND ? AW_E_NOT_ROUTED : AW_E_STORE, "balance");
        return;
    }
    aw_json_key(&o->jw, "user");
    aw_json_string(&o->jw, x->user->name);
    aw_json_key(&o->jw, "balance");
    aw_json_int(&o->jw, cents);
    out_send(x, o, 200);
}

static void api_transfer(gw_exchange *x, api_out *o)
{
    aw_span body = x->req->msg.body;
    aw_json *doc = NULL;
    if (body.len > 4096 ||
        aw_json_parse((const char *)body.ptr, body.len, &doc, NULL, NULL) != AW_OK) {
        gw_reply_error(x, AW_E_MALFORMED, "transfer: body is not JSON");
        return;
    }
    const char *to = aw_json_get_string(doc, "to");
    const aw_json *amount = aw_json_get(doc, "amount");
    char *end = NULL;
    long long cents =
        amount != NULL && amount->type == AW_JSON_NUMBER ? strtoll(amount->text, &end, 10) : 0;
    if (to == NULL || !aw_user_name_valid(to) || end == NULL || *end != '\0' || cents <= 0 ||
        cents > 100000000) {
        aw_json_free(doc);
        gw_reply_error(x, AW_E_MALFORMED, "transfer: want {\"to\": NAME, \"amount\": CENTS > 0}");
        return;
    }
    char payee[AW_USER_NAME_MAX + 1];
    strcpy(payee, to);
    aw_json_free(doc);
    /* The payee must be a user; its account opens on first use like anyone's. */
    aw_user rec;
    aw_result r = aw_store_user_get(x->w->store, payee, &rec);
    if (r == AW_OK) {
        aw_user_wipe(&rec);
        r = aw_bank_ensure_account(x->w->bank, payee);
    }
    int64_t balance = 0;
    if (r == AW_OK) {
        r = aw_bank_transfer(x->w->bank, x->user->name, payee, cents, gw_now(), &balance);
    }
    switch (r) {
    case AW_OK:
        break;
    case AW_E_NOT_FOUND:
        gw_reply_error(x, AW_E_NOT_ROUTED, "transfer: no such payee");
        return;
    case AW_E_CONFLICT:
        gw_reply_error(x, AW_E_CONFLICT, "transfer: insufficient funds");
        return;
    case AW_E_INVALID_ARG:
        gw_reply_error(x, AW_E_MALFORMED, "transfer: to yourself");
        return;
    default:
        gw_reply_error(x, AW_E_STORE, "transfer");
        return;
    }
    aw_json_key(&o->jw, "from");
    aw_json_string(&o->jw, x->user->name);
    aw_json_key(&o->jw, "to");
    aw_json_string(&o->jw, payee);
    aw_json_key(&o->jw, "amount");
    aw_json_int(&o->jw, cents);
    aw_json_key(&o->jw, "balance");
    aw_json_int(&o->jw, balance);
    out_send(x, o, 200);
}

static void note_out(int64_t id, int64_t created, const uint8_t *text, size_t len, void *arg)
{
    aw_json_writer *jw = arg;
    aw_json_begin_object(jw);
    aw_json_key(jw, "id");
    aw_json_int(jw, id);
    aw_json_key(jw, "created");
    aw_json_int(jw, created);
    aw_json_key(jw, "text");
    aw_json_string_n(jw, text, len);
    aw_json_end_object(jw);
}

static void api_notes_get(gw_exchange *x, api_out *o)
{
    aw_json_key(&o->jw, "notes");
    aw_json_begin_array(&o->jw);
    if (aw_bank_notes(x->w->bank, x->user->name, note_out, &o->jw) != AW_OK) {
        gw_reply_error(x, AW_E_STORE, "notes");
        return;
    }
    aw_json_end_array(&o->jw);
    out_send(x, o, 200);
}

static void api_notes_post(gw_exchange *x, api_out *o)
{
    aw_span body = x->req->msg.body;
    int64_t id = 0;
    aw_result r = aw_bank_note_add(x->w->bank, x->user->name, body.ptr, body.len, gw_now(), &id);
    if (r != AW_OK) {
        gw_reply_error(x, r == AW_E_INVALID_ARG ? AW_E_MALFORMED : AW_E_STORE,
                       "note: 1 to 4096 bytes");
        return;
    }
    aw_json_key(&o->jw, "id");
    aw_json_int(&o->jw, id);
    out_send(x, o, 201);
}

typedef struct route {
    const char *method;
    const char *path;
    void (*run)(gw_exchange *x, api_out *o);
} route;

static const route routes[] = {
    {"GET", "/api/whoami", api_whoami},      {"GET", "/api/balance", api_balance},
    {"POST", "/api/transfer", api_transfer}, {"GET", "/api/notes", api_notes_get},
    {"POST", "/api/notes", api_notes_post},
};

void gw_api_handle(gw_exchange *x)
{
    aw_span path, query;
    bool has_query = false;
    if (aw_message_target_parts(&x->req->msg, &path, &query, &has_query) != AW_OK) {
        gw_reply_error(x, AW_E_MALFORMED, "target");
        return;
    }
    bool path_known = false;
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        if (!is(path, routes[i].path)) {
            continue;
        }
        path_known = true;
        if (is(x->req->msg.method, routes[i].method)) {
            if (aw_bank_ensure_account(x->w->bank, x->user->name) != AW_OK) {
                gw_reply_error(x, AW_E_STORE, "account");
                return;
            }
            api_out *o = malloc(sizeof(*o));
            if (o == NULL) {
                gw_reply_error(x, AW_E_INTERNAL, "out of memory");
                return;
            }
            out_begin(o);
            routes[i].run(x, o);
            free(o);
            return;
        }
    }
    gw_reply_error(x, path_known ? AW_E_METHOD : AW_E_NOT_ROUTED, NULL);
}
