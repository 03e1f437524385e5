/* The access log: one JSON object per line, written with one write(2) so lines from
 * several workers never interleave. It holds what an operator needs to see why a request
 * was refused, and nothing secret: no signature, key, nonce, body or header values. */
#include <stdio.h>
#include <unistd.h>

#include "authwire/exchange.h"
#include "gateway.h"
#include "json.h"

void gw_access_log(gw_exchange *x, int status, uint64_t latency_ns)
{
    int fd = x->w->gw->access_log_fd;
    if (fd < 0) {
        return;
    }
    uint8_t buf[2048];
    aw_writer out;
    aw_writer_init(&out, buf, sizeof(buf) - 1);
    aw_json_writer jw;
    aw_json_writer_init(&jw, &out, false);
    const aw_message *m = &x->req->msg;
    aw_span path = {0}, query = {0};
    bool has_query = false;
    if (m->target.len > 0 && aw_message_target_parts(m, &path, &query, &has_query) != AW_OK) {
        path = m->target;
    }
    aw_json_begin_object(&jw);
    aw_json_key(&jw, "time");
    aw_json_int(&jw, gw_now());
    aw_json_key(&jw, "peer");
    aw_json_string(&jw, x->req->peer_addr);
    aw_json_key(&jw, "tls");
    aw_json_bool(&jw, x->req->tls);
    aw_json_key(&jw, "method");
    aw_json_string_n(&jw, m->method.ptr, m->method.len > 16 ? 16 : m->method.len);
    aw_json_key(&jw, "path");
    aw_json_string_n(&jw, path.ptr, path.len > 256 ? 256 : path.len);
    aw_json_key(&jw, "status");
    aw_json_int(&jw, status);
    aw_json_key(&jw, "keyid");
    aw_json_string(&jw, x->user != NULL ? x->user->name : NULL);
    aw_json_key(&jw, "authenticated");
    aw_json_bool(&jw, x->authenticated);
    aw_json_key(&jw, "outcome");
    aw_json_string(&jw, x->result == AW_OK ? "ok" : "refused");
    aw_json_key(&jw, "reason");
    aw_json_string(&jw, aw_result_name(x->result));
    if (x->detail != NULL) {
        aw_json_key(&jw, "detail");
        aw_json_string(&jw, x->detail);
    }
    if (x->enroll_step != NULL) {
        /* Enrollment: which frame, the invite id and the user it is for; never the token,
         * the PSK or any key. */
        aw_json_key(&jw, "enroll");
        aw_json_string(&jw, x->enroll_step);
        if (x->invite[0] != '\0') {
            aw_json_key(&jw, "invite");
            aw_json_string(&jw, x->invite);
        }
        if (x->enroll_user[0] != '\0') {
            aw_json_key(&jw, "user");
            aw_json_string(&jw, x->enroll_user);
        }
    }
    if (x->req->peer_cert_name[0] != '\0') {
        aw_json_key(&jw, "client_cert");
        aw_json_string(&jw, x->req->peer_cert_name);
    }
    aw_json_key(&jw, "us");
    aw_json_uint(&jw, latency_ns / 1000);
    aw_json_end_object(&jw);
    if (aw_json_writer_result(&jw) != AW_OK) {
        return;
    }
    buf[out.len] = '\n';
    ssize_t n = write(fd, buf, out.len + 1);
    (void)n; /* a full disk must not stop the gateway answering */
}
