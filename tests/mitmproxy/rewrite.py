"""A mitmproxy addon for tests/mitmproxy.sh: a man in the middle that rewrites bodies.

Debian's mitmproxy loads it with `mitmdump -s tests/mitmproxy/rewrite.py`. What it alters
is chosen when it starts, by the environment:

  AW_MITM_REWRITE=off       nothing: proves the path through mitmproxy works
  AW_MITM_REWRITE=request   request bodies: every JSON "amount" becomes 9999 and every
                            "to" becomes "mallory" (a transfer redirected and inflated)
  AW_MITM_REWRITE=response  response bodies: every JSON "balance" becomes 1000000
  AW_MITM_LOG=FILE          one line per body it altered, so a test can tell that the
                            attack happened (a refusal without it would prove nothing)

Headers are left as they are (mitmproxy fixes Content-Length itself), as a careless or
clever attacker would: the signed Content-Digest still names the original body.
"""
import os
import re

MODE = os.environ.get("AW_MITM_REWRITE", "off")
LOG = os.environ.get("AW_MITM_LOG")
if MODE not in ("off", "request", "response"):
    raise ValueError(f"AW_MITM_REWRITE={MODE!r}: want off, request or response")

AMOUNT = re.compile(rb'("amount"\s*:\s*)-?\d+')
TO = re.compile(rb'("to"\s*:\s*)"[^"]*"')
BALANCE = re.compile(rb'("balance"\s*:\s*)-?\d+')


def _note(line):
    if LOG:
        with open(LOG, "a", encoding="utf-8") as f:
            f.write(line + "\n")


class Rewrite:
    def request(self, flow):
        body = flow.request.content
        if MODE != "request" or not body:
            return
        new = TO.sub(rb'\1"mallory"', AMOUNT.sub(rb"\g<1>9999", body))
        if new != body:
            flow.request.content = new
            _note(f"request {flow.request.method} {flow.request.path}: {body!r} -> {new!r}")

    def response(self, flow):
        body = flow.response.content
        if MODE != "response" or not body:
            return
        new = BALANCE.sub(rb"\g<1>1000000", body)
        if new != body:
            flow.response.content = new
            _note(f"response {flow.request.method} {flow.request.path}: {body!r} -> {new!r}")


addons = [Rewrite()]
