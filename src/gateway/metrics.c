/* /metrics in the Prometheus text format: requests by outcome and reason, a latency
 * histogram, open connections, live nonces, suspected TLS interceptions. */
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

void gw_metrics_render(gateway *gw, aw_writer *out)
{
    gw_metrics *m = &gw->metrics;
    char buf[512];
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
}
