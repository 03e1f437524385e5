#!/usr/bin/env node
// hms.js: a command-line peer around the foreign RFC 9421 implementation
// `http-message-signatures` (npm, by dhensby), used by tests/interop.sh to check that
// authwire interoperates with an implementation it shares no code with.
//
// It works on raw HTTP/1.1 message files: a request line or a status line, header lines,
// a blank line, then the body. LF or CRLF line endings are accepted and kept; the body
// bytes are kept exactly. The signature base is always built by the library
// (httpbis.signMessage / httpbis.verifyMessage); this file only parses the raw message
// into the library's {method, url, headers} / {status, headers} objects, supplies the
// key operations (node:crypto), and writes the result back out.
//
//   node hms.js sign   --in FILE --key FILE --keyid ID --alg hmac-sha256|ed25519
//                      [--label sig1] [--created N|none] [--expires N] [--nonce STR]
//                      [--tag STR] [--components '"@method" "@authority" ...']
//                      [--params 'created nonce keyid alg tag'] [--digest sha-256|sha-512]
//                      [--response --request REQFILE] [--req-label aw] [--scheme https]
//                      [--show-base]
//   node hms.js verify --in FILE --key FILE [--keyid ID] --alg hmac-sha256|ed25519
//                      [--label L] [--tag STR] [--response --request REQFILE]
//                      [--require-params 'created nonce'] [--require-components '"@method" ...']
//                      [--tolerance S] [--max-age S] [--no-digest-check] [--scheme https]
//                      [--show-base]
//   node hms.js selftest [--vectors DIR]     (RFC 9421 B.2.5 / B.2.6, both directions)
//
// Keys: hmac-sha256 takes a file holding the base64 shared secret (the HMAC key is the
// decoded bytes); ed25519 takes a PEM, PKCS#8 private for sign, SPKI public (or the
// private key) for verify.
//
// Exit codes: 0 valid / signed, 1 invalid (verify) or selftest failure, 2 usage or input error.

'use strict';

const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const sh = require('structured-headers');
const hms = require('http-message-signatures');

const { signMessage, verifyMessage, extractHeader } = hms.httpbis;

class UsageError extends Error {}

// ---------------------------------------------------------------------------------------
// Raw HTTP/1.1 messages

// Parses a raw message. Header bytes are read as latin1 so that they round-trip byte for
// byte; the body is a Buffer sliced from the input, untouched.
function parseMessage(buf) {
    if (!Buffer.isBuffer(buf)) buf = Buffer.from(buf);
    const lines = [];
    let pos = 0;
    let eol = null;
    let bodyStart = buf.length;
    while (pos < buf.length) {
        const nl = buf.indexOf(0x0a, pos);
        if (nl < 0) {
            lines.push(buf.subarray(pos).toString('latin1'));
            pos = buf.length;
            break;
        }
        let end = nl;
        const crlf = end > pos && buf[end - 1] === 0x0d;
        if (crlf) end--;
        if (eol === null) eol = crlf ? '\r\n' : '\n';
        const line = buf.subarray(pos, end).toString('latin1');
        pos = nl + 1;
        if (line === '') {
            bodyStart = pos;
            break;
        }
        lines.push(line);
    }
    if (lines.length === 0) throw new UsageError('empty message');
    const startLine = lines.shift();
    const body = Buffer.from(buf.subarray(bodyStart));

    const fields = []; // {name, value, raw: [line, ...]}
    for (const line of lines) {
        if (line[0] === ' ' || line[0] === '\t') {
            // obs-fold (RFC 9112 5.2): a recipient replaces it with SP.
            if (!fields.length) throw new UsageError('continuation line before any header');
            const f = fields[fields.length - 1];
            f.value = `${f.value} ${line.replace(/^[ \t]+/, '')}`;
            f.raw.push(line);
            continue;
        }
        const colon = line.indexOf(':');
        if (colon <= 0) throw new UsageError(`malformed header line: ${JSON.stringify(line)}`);
        const name = line.slice(0, colon);
        if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) {
            throw new UsageError(`malformed header name: ${JSON.stringify(name)}`);
        }
        fields.push({ name, value: line.slice(colon + 1), raw: [line] });
    }
    for (const f of fields) f.value = f.value.replace(/^[ \t]+|[ \t]+$/g, ''); // strip OWS

    const msg = { startLine, eol: eol || '\n', fields, body };
    if (/^HTTP\/\d/.test(startLine)) {
        const m = /^HTTP\/\d(?:\.\d)? (\d{3})(?: .*)?$/.exec(startLine);
        if (!m) throw new UsageError(`malformed status line: ${JSON.stringify(startLine)}`);
        msg.kind = 'response';
        msg.status = Number(m[1]);
    } else {
        const m = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+) (\S+) HTTP\/\d(?:\.\d)?$/.exec(startLine);
        if (!m) throw new UsageError(`malformed request line: ${JSON.stringify(startLine)}`);
        msg.kind = 'request';
        msg.method = m[1];
        msg.target = m[2];
    }
    return msg;
}

function serializeMessage(msg) {
    const parts = [msg.startLine];
    for (const f of msg.fields) parts.push(...f.raw);
    const head = parts.join(msg.eol) + msg.eol + msg.eol;
    return Buffer.concat([Buffer.from(head, 'latin1'), msg.body]);
}

function getField(msg, name) {
    const vals = msg.fields.filter((f) => f.name.toLowerCase() === name).map((f) => f.value);
    return vals.length ? vals.join(', ') : undefined;
}

function removeFields(msg, name) {
    msg.fields = msg.fields.filter((f) => f.name.toLowerCase() !== name);
}

function addField(msg, name, value) {
    msg.fields.push({ name, value, raw: [`${name}: ${value}`] });
}

// The library's header shape: lower-case names; a repeated field becomes an array (the
// library joins the lines with ", " as RFC 9421 2.1 says).
function headersObject(msg) {
    const h = {};
    for (const f of msg.fields) {
        const k = f.name.toLowerCase();
        if (k in h) h[k] = [].concat(h[k], f.value);
        else h[k] = f.value;
    }
    return h;
}

// The library derives @authority, @path, @query, @target-uri, @scheme from a URL.
function toLibraryMessage(msg, scheme) {
    const headers = headersObject(msg);
    if (msg.kind === 'response') return { status: msg.status, headers };
    let url;
    if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(msg.target)) {
        url = msg.target;
    } else {
        const host = getField(msg, 'host');
        if (host === undefined) throw new UsageError('request has no Host header');
        if (msg.target === '*') url = `${scheme}://${host}/`;
        else if (msg.target.startsWith('/')) url = `${scheme}://${host}${msg.target}`;
        else throw new UsageError(`unsupported request target ${JSON.stringify(msg.target)}`);
    }
    try {
        new URL(url); // eslint-disable-line no-new
    } catch (e) {
        throw new UsageError(`cannot form a URL from the request: ${url}`);
    }
    return { method: msg.method, url, headers };
}

// ---------------------------------------------------------------------------------------
// Keys (node:crypto)

const ALGS = ['hmac-sha256', 'ed25519'];

function loadKey(file, alg, purpose) {
    if (!ALGS.includes(alg)) throw new UsageError(`--alg must be one of ${ALGS.join(', ')}`);
    let text;
    try {
        text = fs.readFileSync(file, 'utf8');
    } catch (e) {
        throw new UsageError(`cannot read key file ${file}: ${e.message}`);
    }
    if (alg === 'hmac-sha256') {
        const b64 = text.trim();
        if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(b64)) {
            throw new UsageError(`${file}: not a base64 shared secret`);
        }
        const secret = Buffer.from(b64, 'base64');
        if (secret.length === 0) throw new UsageError(`${file}: empty shared secret`);
        return { alg, secret };
    }
    try {
        const key = purpose === 'sign' ? crypto.createPrivateKey(text) : crypto.createPublicKey(text);
        if (key.asymmetricKeyType !== 'ed25519') {
            throw new Error(`key type is ${key.asymmetricKeyType}, not ed25519`);
        }
        return { alg, key };
    } catch (e) {
        throw new UsageError(`${file}: not an Ed25519 ${purpose === 'sign' ? 'private' : 'public'} PEM: ${e.message}`);
    }
}

// A SigningKey (library interface) whose sign() is node:crypto.
function makeSigner(k, keyid, onBase) {
    return {
        id: keyid,
        alg: k.alg,
        async sign(data) {
            if (onBase) onBase(data);
            if (k.alg === 'hmac-sha256') return crypto.createHmac('sha256', k.secret).update(data).digest();
            return crypto.sign(null, data, k.key);
        },
    };
}

// A Verifier (library interface) whose verify() is node:crypto.
function makeVerify(k) {
    if (k.alg === 'hmac-sha256') {
        return async (data, signature) => {
            const expected = crypto.createHmac('sha256', k.secret).update(data).digest();
            return signature.length === expected.length && crypto.timingSafeEqual(signature, expected);
        };
    }
    return async (data, signature) => signature.length === 64 && crypto.verify(null, data, k.key, signature);
}

// ---------------------------------------------------------------------------------------
// Content-Digest (RFC 9530), done here with node:crypto: the library does not do it.

const DIGEST_ALGS = { 'sha-256': 'sha256', 'sha-512': 'sha512' };

function contentDigest(body, alg) {
    if (!DIGEST_ALGS[alg]) throw new UsageError(`--digest must be one of ${Object.keys(DIGEST_ALGS).join(', ')}`);
    return `${alg}=:${crypto.createHash(DIGEST_ALGS[alg]).update(body).digest('base64')}:`;
}

// Returns null when the Content-Digest field is present and every entry with a known
// algorithm matches the body (at least one known); otherwise a reason.
function checkContentDigest(msg) {
    const v = getField(msg, 'content-digest');
    if (v === undefined) return 'no Content-Digest field';
    let dict;
    try {
        dict = sh.parseDictionary(v);
    } catch (e) {
        return `malformed Content-Digest: ${e.message}`;
    }
    let known = 0;
    for (const [alg, member] of dict) {
        const h = DIGEST_ALGS[alg];
        if (!h) continue;
        known++;
        if (!(member[0] instanceof ArrayBuffer)) return `malformed Content-Digest entry ${alg}`;
        const got = Buffer.from(member[0]);
        const want = crypto.createHash(h).update(msg.body).digest();
        if (got.length !== want.length || !crypto.timingSafeEqual(got, want)) {
            return `Content-Digest ${alg} does not match the body`;
        }
    }
    return known ? null : 'Content-Digest has no sha-256 or sha-512 entry';
}

// ---------------------------------------------------------------------------------------
// Components and parameters

// '"@method" "@path";req "signature";req;key="aw"' -> ['"@method"', '"@path";req', ...],
// parsed and re-serialized as an RFC 8941 inner list (the same form Signature-Input uses).
function parseComponents(s) {
    let list;
    try {
        list = sh.parseList(`(${s.trim()})`);
    } catch (e) {
        throw new UsageError(`--components: not a list of structured-field strings: ${e.message}`);
    }
    if (list.length !== 1 || !Array.isArray(list[0][0])) throw new UsageError('--components: malformed');
    return list[0][0].map((item) => {
        if (typeof item[0] !== 'string') throw new UsageError('--components: every component must be a quoted string');
        return sh.serializeItem(item);
    });
}

// The authwire/1 covered components (shared/DESIGN.md, "Protocol authwire/1").
function defaultComponents(msg, reqLabel) {
    const ct = getField(msg, 'content-type') !== undefined;
    if (msg.kind === 'request') {
        return ['"@method"', '"@authority"', '"@path"', '"@query"', '"content-digest"', ...(ct ? ['"content-type"'] : [])];
    }
    return [
        '"@status"', '"content-digest"', ...(ct ? ['"content-type"'] : []),
        '"@method";req', '"@authority";req', '"@path";req', '"@query";req',
        sh.serializeItem(['signature', new Map([['req', true], ['key', reqLabel]])]),
    ];
}

function words(s) {
    return s.trim().split(/[\s,]+/).filter(Boolean);
}

// ---------------------------------------------------------------------------------------
// sign / verify

async function signRaw(o) {
    const msg = parseMessage(o.input);
    if (o.response && msg.kind !== 'response') throw new UsageError('--response given but the message is a request');
    if (!o.response && msg.kind !== 'request') throw new UsageError('the message is a response: give --response --request REQFILE');
    const req = o.request ? parseMessage(o.request) : undefined;
    if (req && req.kind !== 'request') throw new UsageError('--request file is not a request');
    const k = loadKey(o.keyFile, o.alg, 'sign');

    if (o.digest && getField(msg, 'content-digest') === undefined) {
        addField(msg, 'Content-Digest', contentDigest(msg.body, o.digest));
    }
    const fields = o.components ? parseComponents(o.components) : defaultComponents(msg, o.reqLabel || 'aw');

    const paramValues = {};
    if (o.created !== undefined) paramValues.created = o.created === 'none' ? null : new Date(Number(o.created) * 1000);
    if (o.expires !== undefined) paramValues.expires = new Date(Number(o.expires) * 1000);
    if (o.nonce !== undefined) paramValues.nonce = o.nonce;
    if (o.tag !== undefined) paramValues.tag = o.tag;
    const params = o.params ? words(o.params) : [
        'created', ...(o.expires !== undefined ? ['expires'] : []), ...(o.nonce !== undefined ? ['nonce'] : []),
        'keyid', 'alg', ...(o.tag !== undefined ? ['tag'] : []),
    ];

    let base = null;
    const signer = makeSigner(k, o.keyid, (b) => { base = Buffer.from(b); });
    const label = o.label || 'sig1';
    const libMsg = toLibraryMessage(msg, o.scheme || 'https');
    const libReq = req ? toLibraryMessage(req, o.scheme || 'https') : undefined;
    const signed = await signMessage({ key: signer, name: label, params, fields, paramValues }, libMsg, libReq);

    // augmentHeaders() merged any existing Signature / Signature-Input members with ours.
    const pick = (n) => Object.entries(signed.headers).find(([h]) => h.toLowerCase() === n)[1];
    const sigInput = pick('signature-input');
    const sig = pick('signature');
    const usedLabel = [...sh.parseDictionary(sigInput).keys()].pop();
    removeFields(msg, 'signature-input');
    removeFields(msg, 'signature');
    addField(msg, 'Signature-Input', sigInput);
    addField(msg, 'Signature', sig);
    return { output: serializeMessage(msg), base, label: usedLabel, sigInput, sig };
}

async function verifyRaw(o) {
    const msg = parseMessage(o.input);
    if (o.response && msg.kind !== 'response') throw new UsageError('--response given but the message is a request');
    if (!o.response && msg.kind !== 'request') throw new UsageError('the message is a response: give --response --request REQFILE');
    const req = o.request ? parseMessage(o.request) : undefined;
    if (req && req.kind !== 'request') throw new UsageError('--request file is not a request');
    const k = loadKey(o.keyFile, o.alg, 'verify');
    const scheme = o.scheme || 'https';
    const libMsg = toLibraryMessage(msg, scheme);
    const libReq = req ? toLibraryMessage(req, scheme) : undefined;
    const bases = [];
    const fail = (reason) => ({ ok: false, reason, bases });

    let inputs;
    let sigs;
    try {
        inputs = sh.parseDictionary(getField(msg, 'signature-input') || '');
        sigs = sh.parseDictionary(getField(msg, 'signature') || '');
    } catch (e) {
        return fail(`malformed Signature or Signature-Input: ${e.message}`);
    }
    if (!inputs.size) return fail('no Signature-Input field');
    const labels = o.label ? [o.label] : [...inputs.keys()];

    for (const label of labels) {
        if (!inputs.has(label)) return fail(`no signature labelled ${label}`);
        // verifyMessage() checks every label present and its result is decided by the last
        // one whose key is found (an earlier failure is swallowed). So give it exactly the
        // label under test. Components "signature"/"signature-input" of this message
        // itself are still read from the unfiltered fields, via the componentParser hook.
        const headers = { ...libMsg.headers };
        headers['signature-input'] = sh.serializeDictionary(new Map([[label, inputs.get(label)]]));
        if (sigs.has(label)) headers.signature = sh.serializeDictionary(new Map([[label, sigs.get(label)]]));
        const original = libMsg.headers;
        const componentParser = (name, params, message) => {
            if (!params.has('req') && (name === 'signature' || name === 'signature-input')) {
                return extractHeader(name, params, { ...message, headers: original });
            }
            return null;
        };
        const key = { id: o.keyid, algs: [o.alg], verify: makeVerify(k) };
        const wrapped = {
            ...key,
            verify: async (data, signature, parameters) => {
                bases.push(Buffer.from(data));
                return key.verify(data, signature, parameters);
            },
        };
        // The library's requiredFields compares bare names only ("@method" is satisfied by
        // "@method";req), so the exact check, parameters included, is done here.
        const required = o.requireComponents ? parseComponents(o.requireComponents) : [];
        const covered = new Set(inputs.get(label)[0].map((item) => sh.serializeItem(item)));
        const missing = required.filter((c) => !covered.has(c));
        if (missing.length) return fail(`${label}: required components not covered: ${missing.join(' ')}`);
        let result;
        try {
            result = await verifyMessage({
                keyLookup: async (params) => {
                    if (o.keyid !== undefined && params.keyid !== o.keyid) return null;
                    // Domain separation: the library passes the parameters, the policy is ours.
                    if (o.tag !== undefined && params.tag !== o.tag) {
                        throw new Error(`tag is ${params.tag === undefined ? 'absent' : JSON.stringify(params.tag)}, expected ${JSON.stringify(o.tag)}`);
                    }
                    return wrapped;
                },
                componentParser,
                requiredParams: o.requireParams ? words(o.requireParams) : [],
                requiredFields: required.map((c) => sh.parseItem(c)[0]),
                tolerance: o.tolerance !== undefined ? Number(o.tolerance) : 0,
                maxAge: o.maxAge !== undefined ? Number(o.maxAge) : undefined,
            }, { ...libMsg, headers }, libReq);
        } catch (e) {
            return fail(`${label}: ${e.name || 'Error'}: ${e.message}`);
        }
        if (result === null) return fail(`${label}: no key for keyid ${JSON.stringify(inputs.get(label)[1].get('keyid'))}`);
        if (result !== true) return fail(`${label}: signature does not verify`);
    }
    if (!o.noDigestCheck) {
        const why = checkContentDigest(msg);
        if (why) return fail(why);
    }
    return { ok: true, reason: null, bases };
}

// ---------------------------------------------------------------------------------------
// selftest: RFC 9421 B.2.5 (hmac-sha256) and B.2.6 (ed25519), both directions

function defaultVectorsDir() {
    if (process.env.AW_VECTORS_DIR) return path.join(process.env.AW_VECTORS_DIR, 'rfc9421');
    return path.resolve(__dirname, '..', '..', 'shared', 'vectors', 'rfc9421');
}

function withFields(buf, lines) {
    const msg = parseMessage(buf);
    for (const line of lines) {
        const c = line.indexOf(':');
        addField(msg, line.slice(0, c), line.slice(c + 1).trim());
    }
    return serializeMessage(msg);
}

async function selftest(dir) {
    const rd = (f) => fs.readFileSync(path.join(dir, f));
    const lines = (f) => rd(f).toString('utf8').split('\n').filter(Boolean);
    let failed = 0;
    let passed = 0;
    const check = (ok, what, detail) => {
        if (ok) passed++;
        else failed++;
        process.stdout.write(`${ok ? 'ok' : 'not ok'} - ${what}${!ok && detail ? `: ${detail}` : ''}\n`);
    };
    const tmp = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'hms-selftest-'));
    const keyFile = (name, content) => {
        const p = path.join(tmp, name);
        fs.writeFileSync(p, content);
        return p;
    };
    try {
        const hmacKey = path.join(dir, 'key-shared-secret.b64');
        const edPriv = path.join(dir, 'key-ed25519-private.pem');
        const edPub = path.join(dir, 'key-ed25519-public.pem');
        const cases = [
            {
                name: 'B.2.5', alg: 'hmac-sha256', label: 'sig-b25', keyid: 'test-shared-secret',
                signKey: hmacKey, verifyKey: hmacKey, components: '"date" "@authority" "content-type"',
                fieldsFile: 'b2.5-signature-fields.txt', baseFile: 'b2.5-signature-base.txt',
            },
            {
                name: 'B.2.6', alg: 'ed25519', label: 'sig-b26', keyid: 'test-key-ed25519',
                signKey: edPriv, verifyKey: edPub,
                components: '"date" "@method" "@path" "@authority" "content-type" "content-length"',
                fieldsFile: 'b2.6-signature-fields.txt', baseFile: 'b2.6-signature-base.txt',
            },
        ];
        const bothFields = [];
        for (const form of ['request.http', 'request-crlf.http']) {
            const raw = rd(form);
            const m = parseMessage(raw);
            check(m.body.toString('latin1') === '{"hello": "world"}' && serializeMessage(m).equals(raw),
                `${form}: parsed, body kept (18 bytes), re-serialized byte for byte`);
            for (const c of cases) {
                const published = lines(c.fieldsFile);
                if (form === 'request.http') bothFields.push(...published);
                const signedByRfc = withFields(raw, published);
                const v = await verifyRaw({ input: signedByRfc, keyFile: c.verifyKey, alg: c.alg, keyid: c.keyid, label: c.label });
                check(v.ok, `${form}: library verifies the published ${c.name} signature (${c.alg})`, v.reason);
                check(v.bases.length === 1 && v.bases[0].equals(rd(c.baseFile)),
                    `${form}: library's ${c.name} verify base equals ${c.baseFile} byte for byte`);
                const s = await signRaw({
                    input: raw, keyFile: c.signKey, alg: c.alg, keyid: c.keyid, label: c.label,
                    components: c.components, params: 'created keyid', created: '1618884473',
                });
                const out = parseMessage(s.output);
                const got = [`Signature-Input: ${getField(out, 'signature-input')}`, `Signature: ${getField(out, 'signature')}`];
                check(got[0] === published[0] && got[1] === published[1],
                    `${form}: library re-signs ${c.name} reproducing the published Signature-Input and Signature`,
                    `got\n  ${got.join('\n  ')}\nwant\n  ${published.join('\n  ')}`);
                check(s.base && s.base.equals(rd(c.baseFile)), `${form}: library's ${c.name} sign base equals ${c.baseFile}`);
                check(out.body.equals(m.body) && out.eol === m.eol, `${form}: ${c.name} sign output keeps body bytes and line endings`);

                // Negative checks: a changed covered header, the wrong key, a changed signature.
                const tampered = Buffer.from(signedByRfc.toString('latin1').replace('02:07:55', '02:07:56'), 'latin1');
                const t = await verifyRaw({ input: tampered, keyFile: c.verifyKey, alg: c.alg, keyid: c.keyid, label: c.label });
                check(!t.ok, `${form}: ${c.name} with a changed Date is rejected`);
                const wrongKey = c.alg === 'hmac-sha256'
                    ? keyFile('wrong.b64', crypto.randomBytes(32).toString('base64'))
                    : keyFile('wrong.pem', crypto.generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }));
                const w = await verifyRaw({ input: signedByRfc, keyFile: wrongKey, alg: c.alg, keyid: c.keyid, label: c.label });
                check(!w.ok, `${form}: ${c.name} with the wrong key is rejected`);
                const sigLine = published[1];
                const flipped = sigLine.replace(/=:(.)/, (_, ch) => `=:${ch === 'A' ? 'B' : 'A'}`);
                const f = await verifyRaw({ input: withFields(raw, [published[0], flipped]), keyFile: c.verifyKey, alg: c.alg, keyid: c.keyid, label: c.label });
                check(!f.ok, `${form}: ${c.name} with a changed signature is rejected`);
            }
        }
        // Both published signatures on one message, each verified by label.
        const both = withFields(rd('request.http'), [bothFields[0] + ', ' + bothFields[2].replace(/^Signature-Input: /, ''),
            bothFields[1] + ', ' + bothFields[3].replace(/^Signature: /, '')]);
        for (const c of cases) {
            const v = await verifyRaw({ input: both, keyFile: c.verifyKey, alg: c.alg, keyid: c.keyid, label: c.label });
            check(v.ok, `request with both signatures: ${c.label} verifies by label`, v.reason);
        }

        // Request-response binding through the library's ;req and key= support.
        const reqSigned = await signRaw({
            input: rd('request.http'), keyFile: hmacKey, alg: 'hmac-sha256', keyid: 'test-shared-secret', label: 'aw',
            created: '1618884473', nonce: 'bm9uY2Utb25l', tag: 'authwire/1', digest: 'sha-256',
        });
        const reqFile = keyFile('req.http', reqSigned.output);
        const resSigned = await signRaw({
            input: rd('response.http'), keyFile: hmacKey, alg: 'hmac-sha256', keyid: 'test-shared-secret', label: 'aw',
            created: '1618884474', nonce: 'bm9uY2UtdHdv', tag: 'authwire/1-response', response: true,
            request: reqSigned.output,
        });
        const reqSig = getField(parseMessage(reqSigned.output), 'signature').replace(/^aw=/, '');
        check(resSigned.base.toString().includes(`\n"signature";req;key="aw": ${reqSig}\n`)
            && resSigned.base.toString().includes('\n"@method";req: POST\n'),
            'response base carries "@method";req and "signature";req;key="aw" from the request');
        const rv = await verifyRaw({ input: resSigned.output, keyFile: hmacKey, alg: 'hmac-sha256', keyid: 'test-shared-secret', label: 'aw', tag: 'authwire/1-response', response: true, request: reqSigned.output });
        check(rv.ok, 'response bound to its request verifies', rv.reason);
        const rq = await verifyRaw({ input: resSigned.output, keyFile: hmacKey, alg: 'hmac-sha256', keyid: 'test-shared-secret', label: 'aw', response: true, request: reqSigned.output,
            requireComponents: '"@status" "content-digest" "@method";req "signature";req;key="aw"', requireParams: 'created nonce keyid alg tag' });
        check(rq.ok, 'response verifies with required components and parameters', rq.reason);
        const rr = await verifyRaw({ input: resSigned.output, keyFile: hmacKey, alg: 'hmac-sha256', keyid: 'test-shared-secret', label: 'aw', response: true, request: reqSigned.output,
            requireComponents: '"@method"' });
        check(!rr.ok, 'required "@method" is not satisfied by "@method";req');
        const otherReq = await signRaw({
            input: rd('request.http'), keyFile: hmacKey, alg: 'hmac-sha256', keyid: 'test-shared-secret', label: 'aw',
            created: '1618884473', nonce: 'bm9uY2UtdGhyZWU', tag: 'authwire/1', digest: 'sha-256',
        });
        const rw = await verifyRaw({ input: resSigned.output, keyFile: hmacKey, alg: 'hmac-sha256', keyid: 'test-shared-secret', label: 'aw', response: true, request: otherReq.output });
        check(!rw.ok, 'response presented with another request (same content, other signature) is rejected');
        const rt = await verifyRaw({ input: resSigned.output, keyFile: hmacKey, alg: 'hmac-sha256', keyid: 'test-shared-secret', label: 'aw', tag: 'authwire/1', response: true, request: reqSigned.output });
        check(!rt.ok, 'response whose tag is not the expected one is rejected');
        void reqFile;
    } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
    }
    process.stdout.write(`selftest: ${passed} passed, ${failed} failed\n`);
    return failed === 0;
}

// ---------------------------------------------------------------------------------------
// CLI

const VALUE_OPTS = {
    '--in': 'in', '--key': 'keyFile', '--keyid': 'keyid', '--alg': 'alg', '--label': 'label',
    '--created': 'created', '--expires': 'expires', '--nonce': 'nonce', '--tag': 'tag',
    '--components': 'components', '--params': 'params', '--digest': 'digest', '--request': 'requestFile',
    '--req-label': 'reqLabel', '--scheme': 'scheme', '--require-params': 'requireParams',
    '--require-components': 'requireComponents', '--tolerance': 'tolerance', '--max-age': 'maxAge',
    '--vectors': 'vectors',
};
const FLAG_OPTS = { '--response': 'response', '--no-digest-check': 'noDigestCheck', '--show-base': 'showBase' };

function parseArgs(argv) {
    const o = {};
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        const eq = a.indexOf('=');
        const name = a.startsWith('--') && eq > 0 ? a.slice(0, eq) : a;
        if (VALUE_OPTS[name]) {
            let v;
            if (name !== a) v = a.slice(eq + 1);
            else if (i + 1 < argv.length) v = argv[++i];
            else throw new UsageError(`${a} needs a value`);
            o[VALUE_OPTS[name]] = v;
        } else if (FLAG_OPTS[a]) {
            o[FLAG_OPTS[a]] = true;
        } else {
            throw new UsageError(`unknown argument ${a}`);
        }
    }
    return o;
}

function readInputs(o) {
    if (!o.in) throw new UsageError('--in FILE is required');
    if (!o.keyFile) throw new UsageError('--key FILE is required');
    if (!o.alg) throw new UsageError('--alg is required');
    if (o.response && !o.requestFile) throw new UsageError('--response needs --request REQFILE');
    if (o.requestFile && !o.response) throw new UsageError('--request needs --response');
    o.input = fs.readFileSync(o.in === '-' ? 0 : o.in);
    if (o.requestFile) o.request = fs.readFileSync(o.requestFile);
}

const USAGE = `usage:
  node hms.js sign   --in FILE --key FILE --keyid ID --alg hmac-sha256|ed25519 [--label sig1]
                     [--created N|none] [--expires N] [--nonce STR] [--tag STR]
                     [--components '"@method" ...'] [--params 'created nonce keyid alg tag']
                     [--digest sha-256] [--response --request REQFILE] [--req-label aw] [--show-base]
  node hms.js verify --in FILE --key FILE [--keyid ID] --alg hmac-sha256|ed25519 [--label L]
                     [--tag STR] [--response --request REQFILE] [--require-params LIST]
                     [--require-components LIST] [--tolerance S] [--max-age S] [--no-digest-check]
                     [--show-base]
  node hms.js selftest [--vectors DIR]
`;

async function main(argv) {
    const cmd = argv[0];
    try {
        if (cmd === 'sign') {
            const o = parseArgs(argv.slice(1));
            readInputs(o);
            if (!o.keyid) throw new UsageError('--keyid is required');
            const r = await signRaw(o);
            if (o.showBase) process.stderr.write(`${r.base.toString('latin1')}\n`);
            if (o.label && r.label !== o.label) process.stderr.write(`hms: label ${o.label} was taken; used ${r.label}\n`);
            process.stdout.write(r.output);
            return 0;
        }
        if (cmd === 'verify') {
            const o = parseArgs(argv.slice(1));
            readInputs(o);
            const r = await verifyRaw(o);
            if (o.showBase) for (const b of r.bases) process.stderr.write(`${b.toString('latin1')}\n`);
            process.stdout.write(r.ok ? 'valid\n' : `invalid: ${r.reason}\n`);
            return r.ok ? 0 : 1;
        }
        if (cmd === 'selftest') {
            const o = parseArgs(argv.slice(1));
            return (await selftest(o.vectors || defaultVectorsDir())) ? 0 : 1;
        }
        process.stderr.write(USAGE);
        return 2;
    } catch (e) {
        if (e instanceof UsageError || e.code === 'ENOENT' || e.code === 'EISDIR') {
            process.stderr.write(`hms: ${e.message}\n`);
            return 2;
        }
        process.stderr.write(`hms: ${e.stack || e}\n`);
        return 2;
    }
}

module.exports = { parseMessage, serializeMessage, signRaw, verifyRaw, contentDigest, checkContentDigest, toLibraryMessage };

if (require.main === module) {
    main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
}
