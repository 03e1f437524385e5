/* /metrics in the Prometheus text format: requests by outcome and reason, a latency
 * histogram, open connections, live nonces, suspected TLS interceptions, enrollment and
 * rotation outcomes, pending handshakes, and the users by state (read at scrape time). */
#include <stdio.h>

#include "gateway.h"

/* Upper bounds of the latency buckets, in microseconds. */
static const uint64_t bucket_us[GW_LATENCY_BUCKETS] = {50,   100,   250,   500,   1000,   2500,
                                                       5000, 10000, 25000, 50000, 100000, 1000000};

void gw_metrics_count(gateway *gw, aw_result result, uint64_t latency_ns)
{
    gw_metrics *m = &gw->metrics;
    unsigned code = (unsigned)result;
    atomic_fetch_add(&m->by_result[code < GW_RESULT_SLOTS ? code : AW_E_INTERNAL], 1);
    uint64_t us = latency_ns / 1000;
    size_t b = 0;
    while (b < GW_LATENCY_BUCKETS && us > bucket_us[b]) {
        b++;
    }
    atomic_fetch_add(&m->latency_bucket[b], 1);
    atomic_fetch_add(&m->latency_sum_us, us);
    atomic_fetch_add(&m->latency_count, 1);
}

void gw_metrics_enroll(gateway *gw, bool rotation, aw_result result)
{
    unsigned code = (unsigned)result;
    atomic_uint_fast64_t *by =
        rotation ? gw->metrics.rotate_by_result : gw->metrics.enroll_by_result;
    atomic_fetch_add(&by[code < GW_RESULT_SLOTS ? code : AW_E_INTERNAL], 1);
}

static const char *outcome_of(aw_result r)
{
    switch (aw_result_class_of(r)) {
    case AW_CLASS_OK:
        return "ok";
    case AW_CLASS_PEER:
    case AW_CLASS_RESOURCE:
        return "rejected";
    default:
        return "error";
    }
}

static void line(aw_writer *out, const char *text)
{
    aw_writer_cstr(out, text);
}

/* A counter by handshake result: "committed" for AW_OK, else the result's name. */
static void render_handshakes(aw_writer *out, const char *name, const char *help,
                              atomic_uint_fast64_t *by, uint64_t promoted)
{
    char buf[256];
    snprintf(buf, sizeof(buf), "# HELP %s %s\n# TYPE %s counter\n", name, help, name);
    line(out, buf);
    for (unsigned code = 0; code < GW_RESULT_SLOTS; code++) {
        uint64_t n = atomic_load(&by[code]);
        if (n == 0 && code != AW_OK) {
            continue;
        }
        snprintf(buf, sizeof(buf), "%s{result=\"%s\"} %llu\n", name,
                 code == AW_OK ? "committed" : aw_result_name((aw_result)code),
                 (unsigned long long)n);
        line(out, buf);
    }
    if (promoted != UINT64_MAX) {
        snprintf(buf, sizeof(buf), "%s{result=\"promoted\"} %llu\n", name,
                 (unsigned long long)promoted);
        line(out, buf);
    }
}

typedef struct user_states {
    uint64_t active, rotating, revoked;
} user_states;

static aw_result count_user(const aw_user *u, void *arg)
{
    user_states *n = arg;
    if (u->revoked_at != 0) {
        n->revoked++;
    } else if (u->next_key_at != 0) {
        n->rotating++;
    } else {
        n->active++;
    }
    return AW_OK;
}

static void render_enrollment(gateway *gw, aw_store *store, aw_writer *out)
{
    gw_metrics *m = &gw->metrics;
    char buf[512];
    render_handshakes(out, "authwire_enrollments_total",
                      "Enrollment handshakes by outcome (committed: a user was stored).",
                      m->enroll_by_result, UINT64_MAX);
    render_handshakes(out, "authwire_rotations_total",
                      "Rotation handshakes by outcome (committed: a pending key was stored; "
                      "promoted: a pending key signed its first request and replaced the key).",
                      m->rotate_by_result, atomic_load(&m->rotations_promoted));
    snprintf(buf, sizeof(buf),
             "# HELP authwire_enroll_sessions Handshakes waiting for their CONFIRM.\n"
             "# TYPE authwire_enroll_sessions gauge\nauthwire_enroll_sessions %zu\n",
             gw_enroll_sessions_live(gw));
    line(out, buf);
    user_states n = {0, 0, 0};
    if (aw_store_user_list(store, count_user, &n) != AW_OK) {
        return; /* no gauge rather than a wrong one */
    }
    snprintf(buf, sizeof(buf),
             "# HELP authwire_users Users by state (rotating: a new key waits for its first "
             "use).\n# TYPE authwire_users gauge\nauthwire_users{state=\"active\"} %llu\n"
             "authwire_users{state=\"rotating\"} %llu\nauthwire_users{state=\"revoked\"} %llu\n",
             (unsigned long long)n.active, (unsigned long long)n.rotating,
             (unsigned long long)n.revoked);
    line(out, buf);
}

void gw_metrics_render(gateway *gw, aw_store *store, aw_writer *out)
{
    gw_metrics *m = &gw->metrics;
    char buf[512];
    snprintf(buf, sizeof(buf),
             "# HELP process_start_time_seconds When the gateway process started (Unix time).\n"
             "# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds %lld.%06lld\n",
             (long long)(m->started_us / 1000000), (long long)(m->started_us % 1000000));
    line(out, buf);
    line(out, "# HELP authwire_requests_total Requests answered, by outcome and reason.\n"
              "# TYPE authwire_requests_total counter\n");
    for (unsigned code = 0; code < GW_RESULT_SLOTS; code++) {
        uint64_t n = atomic_load(&m->by_result[code]);
        if (n == 0) {
            continue;
        }
        snprintf(buf, sizeof(buf), "authwire_requests_total{outcome=\"%s\",reason=\"%s\"} %llu\n",
                 outcome_of((aw_result)code), aw_result_name((aw_result)code),
                 (unsigned long long)n);
        line(out, buf);
    }
    line(out, "# HELP authwire_request_duration_seconds Time from the first byte of a request "
              "to its answer.\n# TYPE authwire_request_duration_seconds histogram\n");
    uint64_t cumulative = 0;
    for (size_t b = 0; b <= GW_LATENCY_BUCKETS; b++) {
        cumulative += atomic_load(&m->latency_bucket[b]);
        if (b < GW_LATENCY_BUCKETS) {
            snprintf(buf, sizeof(buf), "authwire_request_duration_seconds_bucket{le=\"%g\"} %llu\n",
                     (double)bucket_us[b] / 1e6, (unsigned long long)cumulative);
        } else {
            snprintf(buf, sizeof(buf),
                     "authwire_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
                     (unsigned long long)cumulative);
        }
        line(out, buf);
    }
    snprintf(buf, sizeof(buf),
             "authwire_request_duration_seconds_sum %.6f\nauthwire_request_duration_seconds_count "
             "%llu\n",
             (double)atomic_load(&m->latency_sum_us) / 1e6,
             (unsigned long long)atomic_load(&m->latency_count));
    line(out, buf);
    pthread_mutex_lock(&gw->replay_lock);
    size_t live = gw->nonces.live;
    size_t capacity = gw->nonces.capacity;
    pthread_mutex_unlock(&gw->replay_lock);
    snprintf(buf, sizeof(buf),
             "# HELP authwire_nonces_live Nonces remembered by the replay cache.\n"
             "# TYPE authwire_nonces_live gauge\nauthwire_nonces_live %zu\n"
             "# HELP authwire_nonces_capacity Replay cache capacity (full: 503, fail closed).\n"
             "# TYPE authwire_nonces_capacity gauge\nauthwire_nonces_capacity %zu\n",
             live, capacity);
    line(out, buf);
    snprintf(buf, sizeof(buf),
             "# HELP authwire_connections_open Client connections open now.\n"
             "# TYPE authwire_connections_open gauge\nauthwire_connections_open %zu\n",
             gw->server != NULL ? aw_http_server_connections(gw->server) : 0);
    line(out, buf);
    snprintf(buf, sizeof(buf),
             "# HELP authwire_tls_interception_suspected_total Requests whose channel binding "
             "was not this gateway's TLS session.\n"
             "# TYPE authwire_tls_interception_suspected_total counter\n"
             "authwire_tls_interception_suspected_total %llu\n",
             (unsigned long long)atomic_load(&m->interception_suspected));
    line(out, buf);
    render_enrollment(gw, store, out);
}
