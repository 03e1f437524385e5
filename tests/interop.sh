#!/usr/bin/env bash
# Interop test: authwire <-> http-message-signatures (npm, by dhensby), a foreign RFC 9421
# implementation driven through interop/hms.js. CTest runs it with AUTHWIRE (our CLI),
# AW_VECTORS_DIR and AW_SOURCE_DIR set. It never skips: a missing node, interop/node_modules,
# openssl or authwire binary is a failure.
#
# Cases:
#   (s) hms.js selftest: the library reproduces RFC 9421 B.2.5 and B.2.6 both ways.
#   (a) JS signs requests (hmac-sha256, ed25519; authwire/1 components and parameters)
#       -> authwire verify --policy authwire accepts.
#   (b) authwire sign -> the library verifies (plus Content-Digest, tag, required params).
#   (c) responses bound to their request (";req" components, "signature";req;key="aw")
#       both ways, and a response presented with another request is rejected both ways.
#   (d) tampered copies (method, path, query, header value, body byte, signature, status)
#       are rejected by both sides, with exit code 1.
#   (e) RFC 9421 B.2.5 / B.2.6 verify with authwire verify --policy rfc9421 --now 1618884473.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
AW_SOURCE_DIR="${AW_SOURCE_DIR:-$(cd "$here/.." && pwd)}"
AW_VECTORS_DIR="${AW_VECTORS_DIR:-$AW_SOURCE_DIR/../shared/vectors}"
AUTHWIRE="${AUTHWIRE:-$AW_SOURCE_DIR/build/authwire}"
INTEROP="$AW_SOURCE_DIR/interop"
HMS="$INTEROP/hms.js"
RFC="$AW_VECTORS_DIR/rfc9421"

die() {
    echo "interop: FATAL: $*" >&2
    echo "FAIL: prerequisites: $*"
    echo "interop: 0 passed, 1 failed"
    exit 1
}

# --- prerequisites: fail loudly, never skip -----------------------------------------------
command -v node >/dev/null 2>&1 || die "node not found on PATH (scripts/install-deps.sh installs nodejs)"
node_major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
((node_major >= 18)) || die "node >= 18 required, found $(node --version 2>&1)"
for m in http-message-signatures structured-headers; do
    [[ -f "$INTEROP/node_modules/$m/package.json" ]] ||
        die "$INTEROP/node_modules/$m missing: run scripts/install-npm.sh (npm ci in interop/)"
done
[[ -f "$HMS" ]] || die "$HMS missing"
command -v openssl >/dev/null 2>&1 || die "openssl CLI not found"
command -v perl >/dev/null 2>&1 || die "perl not found"
[[ -f "$RFC/request.http" ]] || die "RFC 9421 vectors not found in $RFC (AW_VECTORS_DIR=$AW_VECTORS_DIR)"
[[ -x "$AUTHWIRE" ]] || die "authwire CLI not executable: $AUTHWIRE (set AUTHWIRE)"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/aw-interop.XXXXXX")" || die "mktemp failed"
trap 'rm -rf "$tmp"' EXIT

pass=0
fail=0
ok() {
    pass=$((pass + 1))
    echo "PASS: $*"
}
bad() {
    fail=$((fail + 1))
    echo "FAIL: $*"
}
# Shows the captured output of the last command (indented, bounded).
show() {
    local f
    for f in "$@"; do
        [[ -s "$f" ]] || continue
        echo "    --- $(basename "$f")"
        head -c 4000 "$f" | sed 's/^/    | /'
        echo
    done
}

hms() { node "$HMS" "$@"; }

# --- keys ----------------------------------------------------------------------------------
openssl rand -base64 32 >"$tmp/hmac.b64" || die "openssl rand failed"
openssl genpkey -algorithm ed25519 -out "$tmp/ed-priv.pem" 2>/dev/null || die "openssl genpkey ed25519 failed"
openssl pkey -in "$tmp/ed-priv.pem" -pubout -out "$tmp/ed-pub.pem" 2>/dev/null || die "openssl pkey -pubout failed"
sign_key() { [[ $1 == ed25519 ]] && echo "$tmp/ed-priv.pem" || echo "$tmp/hmac.b64"; }
verify_key() { [[ $1 == ed25519 ]] && echo "$tmp/ed-pub.pem" || echo "$tmp/hmac.b64"; }
KEYID=alice
ALGS=(hmac-sha256 ed25519)
AW_COMPONENTS='"@method" "@authority" "@path" "@query" "content-digest"'

# 32 random bytes, base64url without padding (256 bits, authwire/1 asks for >= 128).
nonce() { openssl rand -base64 32 | tr '+/' '-_' | tr -d '=\n'; }

# --- messages ------------------------------------------------------------------------------
body1='{"name":"widget","qty":3}'
printf 'POST /api/v1/items?limit=10&sort=name HTTP/1.1\nHost: api.example.test:8443\nContent-Type: application/json\nContent-Length: %d\n\n%s' \
    "${#body1}" "$body1" >"$tmp/req-post.http"
printf 'GET /api/v1/items HTTP/1.1\r\nHost: api.example.test\r\nAccept: application/json\r\n\r\n' >"$tmp/req-get-crlf.http"
rbody='{"id":42,"name":"widget","qty":3}'
printf 'HTTP/1.1 201 Created\nContent-Type: application/json\nContent-Length: %d\n\n%s' \
    "${#rbody}" "$rbody" >"$tmp/resp.http"

# JS signs a request the authwire/1 way.
js_sign_req() { # alg in out
    hms sign --in "$2" --key "$(sign_key "$1")" --keyid "$KEYID" --alg "$1" --label aw \
        --nonce "$(nonce)" --tag authwire/1 --digest sha-256 >"$3" 2>"$3.err" </dev/null
}
# JS signs a response bound to request $3 (default components: the authwire/1 response set).
js_sign_resp() { # alg in req out
    hms sign --response --request "$3" --in "$2" --key "$(sign_key "$1")" --keyid "$KEYID" \
        --alg "$1" --label aw --nonce "$(nonce)" --tag authwire/1-response --digest sha-256 >"$4" 2>"$4.err"
}
aw_sign_req() { # alg in out
    "$AUTHWIRE" sign "$2" --key "$(sign_key "$1")" --keyid "$KEYID" --alg "$1" >"$3" 2>"$3.err" </dev/null
}
aw_sign_resp() { # alg in req out
    "$AUTHWIRE" sign "$2" --response --request "$3" --key "$(sign_key "$1")" --keyid "$KEYID" \
        --alg "$1" >"$4" 2>"$4.err" </dev/null
}
aw_verify() { # alg file [extra...]
    local alg=$1 f=$2
    shift 2
    "$AUTHWIRE" verify "$f" --key "$(verify_key "$alg")" --keyid "$KEYID" --alg "$alg" \
        --label aw --policy authwire "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
}
js_verify() { # alg file [extra...]
    local alg=$1 f=$2
    shift 2
    hms verify --in "$f" --key "$(verify_key "$alg")" --keyid "$KEYID" --alg "$alg" --label aw \
        --require-params 'created nonce keyid alg tag' "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
}

# expect_accept DESC RC  /  expect_reject_aw DESC RC  /  expect_reject_js DESC RC
expect_accept() {
    if [[ $2 == 0 ]]; then ok "$1"; else
        bad "$1 (exit $2, want 0)"
        show "$tmp/out" "$tmp/err"
    fi
}
expect_reject_aw() {
    local line
    line="$(grep -m1 -E '^authwire: verify: [A-Za-z0-9_]+: ' "$tmp/err" || true)"
    if [[ $2 == 1 && -n $line ]]; then ok "$1 [${line#authwire: verify: }]"; else
        bad "$1 (exit $2, want 1 with an 'authwire: verify: <reason_name>: <text>' line on stderr)"
        show "$tmp/out" "$tmp/err"
    fi
}
expect_reject_js() {
    if [[ $2 == 1 ]] && grep -q '^invalid: ' "$tmp/out"; then ok "$1 [$(head -1 "$tmp/out")]"; else
        bad "$1 (exit $2, want 1)"
        show "$tmp/out" "$tmp/err"
    fi
}
# A sign step that failed is a failed case; its stderr is shown.
signed_ok() { # desc rc file
    if [[ $2 != 0 || ! -s $3 ]]; then
        bad "$1: signing failed (exit $2)"
        show "$3.err"
        return 1
    fi
}

# Tampering, binary-safe (perl slurp); a tamper that does not change the file is a failure.
tamper() { # kind in out
    local expr
    # shellcheck disable=SC2016 # perl expressions, not shell ones
    case $1 in
        method) expr='s/\APOST /PUT /' ;;
        path) expr='s{\A(\S+ /api/v1/)items}{${1}itemz}' ;;
        query) expr='s/\A(\S+ \S*)limit=10/${1}limit=99/' ;;
        header) expr='s/^(Content-Type:[ \t]*)application\/json/${1}text\/plain/mi' ;;
        body) expr='s/"qty":3\}\z/"qty":4}/' ;;
        signature) expr='s/^(Signature:[ \t]*aw=:)(.)/$1.($2 eq "A" ? "B" : "A")/mie' ;;
        status) expr='s/\AHTTP\/1\.1 201 /HTTP\/1.1 200 /' ;;
        *) return 2 ;;
    esac
    perl -0777 -pe "$expr" "$2" >"$3" && ! cmp -s "$2" "$3"
}

echo "interop: authwire=$AUTHWIRE node=$(node --version) http-message-signatures=$(node -p "require('$INTEROP/node_modules/http-message-signatures/package.json').version")"

# --- (s) selftest ----------------------------------------------------------------------------
AW_VECTORS_DIR="$AW_VECTORS_DIR" hms selftest >"$tmp/out" 2>"$tmp/err"
rc=$?
if [[ $rc == 0 ]]; then ok "(s) hms.js selftest: $(tail -1 "$tmp/out")"; else
    bad "(s) hms.js selftest (exit $rc)"
    show "$tmp/out" "$tmp/err"
fi

# --- (a) JS signs, authwire verifies ----------------------------------------------------------
for alg in "${ALGS[@]}"; do
    for m in req-post req-get-crlf; do
        f="$tmp/a-$alg-$m.http"
        js_sign_req "$alg" "$tmp/$m.http" "$f"
        signed_ok "(a) $alg $m" $? "$f" || continue
        aw_verify "$alg" "$f"
        rc=$?
        expect_accept "(a) JS-signed $alg request ($m) accepted by authwire verify --policy authwire" $rc
        ((rc == 0)) || {
            echo "    --- JS signature base:"
            hms verify --in "$f" --key "$(verify_key "$alg")" --alg "$alg" --label aw --show-base 2>&1 >/dev/null | sed 's/^/    | /'
        }
    done
done

# --- (b) authwire signs, JS verifies ----------------------------------------------------------
for alg in "${ALGS[@]}"; do
    for m in req-post req-get-crlf; do
        f="$tmp/b-$alg-$m.http"
        aw_sign_req "$alg" "$tmp/$m.http" "$f"
        signed_ok "(b) $alg $m" $? "$f" || continue
        js_verify "$alg" "$f" --tag authwire/1 --show-base --require-components "$AW_COMPONENTS"
        rc=$?
        expect_accept "(b) authwire-signed $alg request ($m) accepted by http-message-signatures" $rc
        if grep -qiE '^Content-Digest:[ \t]*sha-256=:' "$f"; then
            ok "(b) authwire sign added Content-Digest sha-256 ($alg, $m)"
        else
            bad "(b) authwire sign did not add a Content-Digest: sha-256 field ($alg, $m)"
        fi
    done
done

# --- (c) responses bound to their request, both ways ------------------------------------------
for alg in "${ALGS[@]}"; do
    # c1: authwire signs the request, JS signs the response, authwire verifies the response.
    rq="$tmp/c1-$alg-req.http"
    rs="$tmp/c1-$alg-resp.http"
    other="$tmp/c1-$alg-other.http"
    if aw_sign_req "$alg" "$tmp/req-post.http" "$rq" && aw_sign_req "$alg" "$tmp/req-post.http" "$other" &&
        js_sign_resp "$alg" "$tmp/resp.http" "$rq" "$rs"; then
        aw_verify "$alg" "$rs" --response --request "$rq"
        expect_accept "(c) JS-signed $alg response (\"@status\" \"content-digest\" \"content-type\" ;req set, \"signature\";req;key=\"aw\") accepted by authwire" $?
        aw_verify "$alg" "$rs" --response --request "$other"
        expect_reject_aw "(c) JS-signed $alg response presented with another request rejected by authwire" $?
        t="$tmp/c1-$alg-resp-status.http"
        if tamper status "$rs" "$t"; then
            aw_verify "$alg" "$t" --response --request "$rq"
            expect_reject_aw "(d) JS-signed $alg response, tampered status, rejected by authwire" $?
        else bad "(d) tamper status did not apply ($alg)"; fi
    else
        bad "(c) $alg c1: signing failed"
        show "$rq.err" "$other.err" "$rs.err"
    fi

    # c2: JS signs the request, authwire signs the response, JS verifies the response.
    rq="$tmp/c2-$alg-req.http"
    rs="$tmp/c2-$alg-resp.http"
    other="$tmp/c2-$alg-other.http"
    if js_sign_req "$alg" "$tmp/req-post.http" "$rq" && js_sign_req "$alg" "$tmp/req-post.http" "$other" &&
        aw_sign_resp "$alg" "$tmp/resp.http" "$rq" "$rs"; then
        js_verify "$alg" "$rs" --response --request "$rq" --tag authwire/1-response --show-base \
            --require-params 'created keyid alg tag' \
            --require-components '"@status" "content-digest" "@method";req "@authority";req "@path";req "@query";req "signature";req;key="aw"'
        expect_accept "(c) authwire-signed $alg response accepted by http-message-signatures (with ;req and \"signature\";req;key=\"aw\")" $?
        js_verify "$alg" "$rs" --response --request "$other" --tag authwire/1-response
        expect_reject_js "(c) authwire-signed $alg response presented with another request rejected by JS" $?
        t="$tmp/c2-$alg-resp-status.http"
        if tamper status "$rs" "$t"; then
            js_verify "$alg" "$t" --response --request "$rq" --tag authwire/1-response
            expect_reject_js "(d) authwire-signed $alg response, tampered status, rejected by JS" $?
        else bad "(d) tamper status did not apply ($alg)"; fi
    else
        bad "(c) $alg c2: signing failed"
        show "$rq.err" "$other.err" "$rs.err"
    fi
done

# --- (d) tampered requests are rejected by both sides -----------------------------------------
# Every tampered copy comes from a freshly signed message (fresh nonce) whose original was
# never shown to the verifier, so a rejection cannot be a replay-cache hit.
for alg in "${ALGS[@]}"; do
    for kind in method path query header body signature; do
        src="$tmp/d-js-$alg-$kind.http"
        t="$tmp/d-js-$alg-$kind-t.http"
        if js_sign_req "$alg" "$tmp/req-post.http" "$src"; then
            if tamper "$kind" "$src" "$t"; then
                aw_verify "$alg" "$t"
                expect_reject_aw "(d) JS-signed $alg request, tampered $kind, rejected by authwire" $?
            else bad "(d) tamper $kind did not apply to the JS-signed message"; fi
        else
            bad "(d) JS sign failed ($alg)"
            show "$src.err"
        fi

        src="$tmp/d-aw-$alg-$kind.http"
        t="$tmp/d-aw-$alg-$kind-t.http"
        if aw_sign_req "$alg" "$tmp/req-post.http" "$src"; then
            if tamper "$kind" "$src" "$t"; then
                js_verify "$alg" "$t" --tag authwire/1
                expect_reject_js "(d) authwire-signed $alg request, tampered $kind, rejected by JS" $?
            else bad "(d) tamper $kind did not apply to the authwire-signed message"; fi
        else
            bad "(d) authwire sign failed ($alg)"
            show "$src.err"
        fi
    done
done

# --- (e) RFC 9421 B.2.5 / B.2.6 with authwire verify --policy rfc9421 ---------------------------
add_fields() { # message fields-file out: insert the field lines before the blank line
    FIELDS="$(cat "$2")" perl -0777 -pe '
        my $nl = /\A[^\n]*\r\n/ ? "\r\n" : "\n";
        my $f = join("", map { "$_$nl" } grep { length } split /\n/, $ENV{FIELDS});
        s/\r?\n\r?\n/$nl$f$nl/;
    ' "$1" >"$3"
}
for form in request request-crlf; do
    for v in b25:b2.5:hmac-sha256:key-shared-secret.b64:test-shared-secret \
        b26:b2.6:ed25519:key-ed25519-public.pem:test-key-ed25519; do
        IFS=: read -r lab sec alg key kid <<<"$v"
        f="$tmp/e-$lab-$form.http"
        add_fields "$RFC/$form.http" "$RFC/$sec-signature-fields.txt" "$f"
        "$AUTHWIRE" verify "$f" --key "$RFC/$key" --keyid "$kid" --alg "$alg" --label "sig-$lab" \
            --policy rfc9421 --now 1618884473 >"$tmp/out" 2>"$tmp/err" </dev/null
        expect_accept "(e) RFC 9421 ${sec/b/B.} ($alg, $form.http) accepted by authwire verify --policy rfc9421" $?
        if [[ $form == request ]]; then
            t="$tmp/e-$lab-date.http"
            perl -0777 -pe 's/^(Date: Tue, 20 Apr 2021 02:07:)55/${1}56/m' "$f" >"$t"
            "$AUTHWIRE" verify "$t" --key "$RFC/$key" --keyid "$kid" --alg "$alg" --label "sig-$lab" \
                --policy rfc9421 --now 1618884473 >"$tmp/out" 2>"$tmp/err" </dev/null
            expect_reject_aw "(e) RFC 9421 ${sec/b/B.} with a changed Date rejected by authwire" $?
        fi
    done
done

echo "interop: $pass passed, $fail failed"
((fail == 0))
