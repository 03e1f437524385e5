#!/usr/bin/env node
// bench-js.js: JavaScript reference figures for authwire's verify benchmark, measured on
// this machine.
//
//   (a) http-message-signatures verifying an hmac-sha256 signed request: covered
//       "@method" "@authority" "@path" "@query" "content-digest" "content-type", parameters
//       created, nonce, keyid, alg, tag; a 1 KiB body whose sha-256 Content-Digest is checked
//       (node:crypto) as part of every verify;
//   (b) the same request signed with ed25519;
//   (c) hawk.server.authenticate of an equivalent request (same method, URL, content type,
//       1 KiB payload) with payload hash validation.
//
// Each case: a correctness check (the valid request passes, a tampered one fails), a
// warm-up, then timed batches until ITERATIONS are done or SECONDS have passed,
// whichever comes first (so it always stops by itself). Iterations run one after the other (await each), as a server
// handling one request at a time would.
//
// stdout: one JSON object {"hms_hmac_verify_ns", "hms_ed25519_verify_ns", "hawk_verify_ns", ...}
// stderr: a human-readable table.
//
// Environment: BENCH_ITERATIONS (default 20000), BENCH_SECONDS (default 2), BENCH_WARMUP
// (default 2000).

'use strict';

const crypto = require('node:crypto');
const os = require('node:os');
const sh = require('structured-headers');
const { httpbis: { signMessage, verifyMessage } } = require('http-message-signatures');
const Hawk = require('hawk');

const ITERATIONS = Number(process.env.BENCH_ITERATIONS || 20000);
const SECONDS = Number(process.env.BENCH_SECONDS || 2);
const WARMUP = Number(process.env.BENCH_WARMUP || 2000);

const KEYID = 'alice';
const HOST = 'api.example.com';
const PATH_QUERY = '/v1/items/42?fields=name';
const URL_ = `https://${HOST}${PATH_QUERY}`;
const CONTENT_TYPE = 'application/json';
const COMPONENTS = ['"@method"', '"@authority"', '"@path"', '"@query"', '"content-digest"', '"content-type"'];

// A 1 KiB JSON body.
function makeBody() {
    const prefix = '{"items":[';
    let s = prefix;
    let i = 0;
    while (s.length < 1024 - 40) s += `${i ? ',' : ''}{"id":${i},"n":"item-${i}"}`, i++;
    s += ']';
    s += ' '.repeat(1024 - 1 - s.length) + '}';
    if (Buffer.byteLength(s) !== 1024) throw new Error('body is not 1 KiB');
    return Buffer.from(s);
}

function pkgVersion(name) {
    const file = require('node:path').join(__dirname, 'node_modules', name, 'package.json');
    return JSON.parse(require('node:fs').readFileSync(file, 'utf8')).version;
}

function sha256Digest(body) {
    return `sha-256=:${crypto.createHash('sha256').update(body).digest('base64')}:`;
}

// RFC 9530 check as a server would do it next to the signature check.
function contentDigestOk(headers, body) {
    const v = headers['content-digest'];
    if (typeof v !== 'string') return false;
    const dict = sh.parseDictionary(v);
    const m = dict.get('sha-256');
    if (!m || !(m[0] instanceof ArrayBuffer)) return false;
    const got = Buffer.from(m[0]);
    const want = crypto.createHash('sha256').update(body).digest();
    return got.length === want.length && crypto.timingSafeEqual(got, want);
}

async function signedRequest(alg, signFn, body) {
    let base = null;
    const req = {
        method: 'POST',
        url: URL_,
        headers: {
            host: HOST,
            'content-type': CONTENT_TYPE,
            'content-length': String(body.length),
            'content-digest': sha256Digest(body),
        },
    };
    const signed = await signMessage({
        key: { id: KEYID, alg, sign: async (data) => { base = Buffer.from(data); return signFn(data); } },
        name: 'aw',
        params: ['created', 'nonce', 'keyid', 'alg', 'tag'],
        fields: COMPONENTS,
        paramValues: {
            created: new Date(),
            nonce: crypto.randomBytes(32).toString('base64url'),
            tag: 'authwire/1',
        },
    }, req);
    // Normalise header names to lower case, as node's http module delivers them.
    const headers = {};
    for (const [k, v] of Object.entries(signed.headers)) headers[k.toLowerCase()] = v;
    return { req: { ...signed, headers }, base };
}

function hmsVerifier(alg, verifyFn) {
    const key = { id: KEYID, algs: [alg], verify: verifyFn };
    const config = {
        keyLookup: async (params) => (params.keyid === KEYID && params.tag === 'authwire/1' ? key : null),
        requiredParams: ['created', 'nonce', 'keyid', 'alg', 'tag'],
        requiredFields: ['@method', '@authority', '@path', '@query', 'content-digest'],
    };
    return async (req, body) => (await verifyMessage(config, req)) === true && contentDigestOk(req.headers, body);
}

// Timed in batches of BATCH iterations; the figure is the median batch (ns/op), which
// resists interference from other work on a shared 2-core machine better than the mean.
// The mean and the best batch are reported too.
const BATCH = 500;

async function bench(name, fn) {
    for (let i = 0; i < WARMUP; i++) {
        if (!(await fn())) throw new Error(`${name}: verification failed during warm-up`);
    }
    const deadline = process.hrtime.bigint() + BigInt(Math.round(SECONDS * 1e9));
    const start = process.hrtime.bigint();
    const batches = [];
    let n = 0;
    for (;;) {
        const b0 = process.hrtime.bigint();
        for (let i = 0; i < BATCH; i++) {
            if (!(await fn())) throw new Error(`${name}: verification failed`);
        }
        const b1 = process.hrtime.bigint();
        batches.push(Number(b1 - b0) / BATCH);
        n += BATCH;
        if (n >= ITERATIONS || b1 >= deadline) break;
    }
    const mean = Number(process.hrtime.bigint() - start) / n;
    const sorted = [...batches].sort((a, b) => a - b);
    const median = sorted.length % 2 ? sorted[(sorted.length - 1) / 2]
        : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
    return { name, iterations: n, ns_per_op: median, mean_ns: mean, best_ns: sorted[0], ops_per_s: 1e9 / median };
}

async function main() {
    const loadAtStart = Math.round(os.loadavg()[0] * 100) / 100;
    const body = makeBody();
    const tamperedBody = Buffer.from(body);
    tamperedBody[100] ^= 1;

    // (a) hmac-sha256
    const secret = crypto.randomBytes(32);
    const hmac = await signedRequest('hmac-sha256', async (d) => crypto.createHmac('sha256', secret).update(d).digest(), body);
    const hmacVerify = hmsVerifier('hmac-sha256', async (data, sig) => {
        const want = crypto.createHmac('sha256', secret).update(data).digest();
        return sig.length === want.length && crypto.timingSafeEqual(sig, want);
    });

    // (b) ed25519
    const { privateKey, publicKey } = crypto.generateKeyPairSync('ed25519');
    const ed = await signedRequest('ed25519', async (d) => crypto.sign(null, d, privateKey), body);
    const edVerify = hmsVerifier('ed25519', async (data, sig) => crypto.verify(null, data, publicKey, sig));

    // (c) hawk: same method, URL, content type and payload; sha256 MAC and payload hash.
    const credentials = { id: KEYID, key: secret.toString('base64'), algorithm: 'sha256' };
    const payload = body.toString('utf8');
    const { header: authorization } = Hawk.client.header(URL_, 'POST', {
        credentials, payload, contentType: CONTENT_TYPE,
    });
    const hawkReq = {
        method: 'POST',
        url: PATH_QUERY,
        headers: {
            host: HOST,
            authorization,
            'content-type': CONTENT_TYPE,
            'content-length': String(body.length),
        },
        connection: { encrypted: true }, // https: hawk takes port 443 from this
    };
    const credentialsFunc = async (id) => (id === KEYID ? credentials : null);
    const hawkVerify = async (p) => {
        try {
            const { credentials: c } = await Hawk.server.authenticate(hawkReq, credentialsFunc, { payload: p });
            return c.id === KEYID;
        } catch (e) {
            return false;
        }
    };

    // Correctness: each verifier accepts the request and rejects a tampered body.
    const checks = [
        ['hms hmac-sha256', await hmacVerify(hmac.req, body), await hmacVerify(hmac.req, tamperedBody)],
        ['hms ed25519', await edVerify(ed.req, body), await edVerify(ed.req, tamperedBody)],
        ['hawk', await hawkVerify(payload), await hawkVerify(tamperedBody.toString('utf8'))],
    ];
    for (const [n, good, badOk] of checks) {
        if (!good || badOk) throw new Error(`${n}: correctness check failed (valid=${good}, tampered accepted=${badOk})`);
    }

    const results = [
        await bench('http-message-signatures verify, hmac-sha256 (+ Content-Digest sha-256)', () => hmacVerify(hmac.req, body)),
        await bench('http-message-signatures verify, ed25519 (+ Content-Digest sha-256)', () => edVerify(ed.req, body)),
        await bench('hawk.server.authenticate (sha256, payload hash)', () => hawkVerify(payload)),
    ];

    const out = {
        hms_hmac_verify_ns: Math.round(results[0].ns_per_op),
        hms_ed25519_verify_ns: Math.round(results[1].ns_per_op),
        hawk_verify_ns: Math.round(results[2].ns_per_op),
        hms_hmac_verify_ops: Math.round(results[0].ops_per_s),
        hms_ed25519_verify_ops: Math.round(results[1].ops_per_s),
        hawk_verify_ops: Math.round(results[2].ops_per_s),
        mean_ns: Object.fromEntries(results.map((r, i) => [['hms_hmac', 'hms_ed25519', 'hawk'][i], Math.round(r.mean_ns)])),
        best_batch_ns: Object.fromEntries(results.map((r, i) => [['hms_hmac', 'hms_ed25519', 'hawk'][i], Math.round(r.best_ns)])),
        statistic: `median of batches of ${BATCH}`,
        iterations: Object.fromEntries(results.map((r, i) => [['hms_hmac', 'hms_ed25519', 'hawk'][i], r.iterations])),
        signature_base_bytes: { hmac: hmac.base.length, ed25519: ed.base.length },
        body_bytes: body.length,
        node: process.version,
        versions: {
            'http-message-signatures': pkgVersion('http-message-signatures'),
            hawk: pkgVersion('hawk'),
            'structured-headers': pkgVersion('structured-headers'),
        },
        cpu: os.cpus()[0] ? os.cpus()[0].model : 'unknown',
        loadavg_1m_at_start: loadAtStart,
    };

    const w = Math.max(...results.map((r) => r.name.length));
    process.stderr.write(`JS reference (node ${process.version}, ${out.cpu}); body ${body.length} B, `
        + `signature base ${hmac.base.length} B (hmac) / ${ed.base.length} B (ed25519)\n`);
    process.stderr.write(`${'case'.padEnd(w)}  ${'iterations'.padStart(10)}  ${'ns/op'.padStart(10)}  ${'ops/s'.padStart(10)}  ${'mean ns'.padStart(10)}  ${'best ns'.padStart(10)}\n`);
    for (const r of results) {
        process.stderr.write(`${r.name.padEnd(w)}  ${String(r.iterations).padStart(10)}  `
            + `${Math.round(r.ns_per_op).toString().padStart(10)}  ${Math.round(r.ops_per_s).toString().padStart(10)}  `
            + `${Math.round(r.mean_ns).toString().padStart(10)}  ${Math.round(r.best_ns).toString().padStart(10)}\n`);
    }
    process.stderr.write(`ns/op and ops/s: median of batches of ${BATCH}; each verify is awaited in turn\n`);
    process.stdout.write(`${JSON.stringify(out)}\n`);
}

main().catch((e) => {
    process.stderr.write(`bench-js: ${e.stack || e}\n`);
    process.exit(1);
});
