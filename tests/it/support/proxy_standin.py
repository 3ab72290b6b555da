"""A stand-in for a deployed Psoxy proxy, on 127.0.0.1 (tests/it/proxy_check*.rs).

It checks each request's credentials independently of the tool under test, then answers the
health check (header X-Psoxy-Health-Check) or the call (/oauth/token/accessible-resources) as the
scenario says:

- sigv4: recomputes the SigV4 signature with botocore, using the session credentials moto's STS
  handed out for the caller role (read from moto's /moto-api/data.json); a missing, wrong-region
  or expired signature gets AWS's 403.
- idtoken: also serves a fake metadata server's identity endpoint (GCE_METADATA_HOST) that mints
  HMAC-signed JWTs, and accepts only those whose audience is this server's URL.
- none: no credentials checked.

Usage: python proxy_standin.py SCENARIO.json; prints the port on the first line of stdout, then
serves until killed. Every request is appended to the scenario's "log" file as one JSON line.
"""

import base64
import datetime
import hashlib
import hmac
import json
import sys
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

SCENARIO = json.load(open(sys.argv[1]))
ID_KEY = b"stand-in-id-token-key"
PORT = 0


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def mint(audience):
    now = int(time.time())
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    claims = {"aud": audience, "iss": "https://accounts.google.com", "sub": "stand-in-sa",
              "iat": now, "exp": now + 3600}
    payload = b64(json.dumps(claims).encode())
    signature = b64(hmac.new(ID_KEY, f"{header}.{payload}".encode(), hashlib.sha256).digest())
    return f"{header}.{payload}.{signature}"


def own_url():
    return f"http://127.0.0.1:{PORT}"


def check_id_token(headers):
    auth = headers.get("Authorization", "")
    if not auth.startswith("Bearer "):
        return "no bearer token"
    parts = auth[len("Bearer "):].split(".")
    if len(parts) != 3:
        return "not a JWT"
    expected = b64(hmac.new(ID_KEY, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(expected, parts[2]):
        return "bad signature"
    claims = json.loads(unb64(parts[1]))
    if claims.get("aud") != SCENARIO.get("audience", own_url()):
        return f"wrong audience {claims.get('aud')}"
    if claims.get("exp", 0) < time.time():
        return "expired"
    return None


def assumed_roles():
    with urllib.request.urlopen(SCENARIO["moto"] + "/moto-api/data.json", timeout=10) as r:
        data = json.load(r)
    return data.get("sts", {}).get("AssumedRole", [])


def check_sigv4(method, path, headers):
    auth = headers.get("Authorization", "")
    if not auth.startswith("AWS4-HMAC-SHA256 "):
        return "Forbidden"
    fields = dict(p.strip().split("=", 1) for p in auth[len("AWS4-HMAC-SHA256 "):].split(","))
    key_id = fields["Credential"].split("/")[0]
    signed = fields["SignedHeaders"].split(";")
    session = next((r for r in assumed_roles() if r.get("access_key_id") == key_id), None)
    if session is None:
        return "The security token included in the request is invalid."
    if session.get("role_arn") != SCENARIO["role_arn"]:
        return "Forbidden"
    if headers.get("X-Amz-Security-Token") != session.get("session_token"):
        return "The security token included in the request is invalid."
    if SCENARIO.get("expired"):
        return "The security token included in the request is expired"
    creds = Credentials(key_id, session["secret_access_key"], session["session_token"])
    request = AWSRequest(method=method, url=own_url() + path,
                         headers={h: headers.get(h, "") for h in signed})
    request.context["timestamp"] = headers.get("X-Amz-Date", "")
    signer = SigV4Auth(creds, SCENARIO.get("service", "lambda"), SCENARIO["region"])
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    if not hmac.compare_digest(expected, fields.get("Signature", "")):
        return ("The request signature we calculated does not match the signature you provided."
                " Check your AWS Secret Access Key and signing method.")
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body, content_type="application/json", extra=()):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        try:
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def do_GET(self):
        headers = self.headers
        health = headers.get("X-Psoxy-Health-Check") is not None
        with open(SCENARIO["log"], "a") as log:
            log.write(json.dumps({"path": self.path, "health": health,
                                  "headers": dict(headers.items())}) + "\n")
        if self.path.startswith("/computeMetadata/v1/instance/service-accounts/default/identity"):
            from urllib.parse import parse_qs, urlparse
            if headers.get("Metadata-Flavor") != "Google":
                return self.answer(403, b"missing Metadata-Flavor", "text/plain")
            audience = parse_qs(urlparse(self.path).query).get("audience", [""])[0]
            return self.answer(200, mint(audience).encode(), "text/plain")
        kind = SCENARIO.get("auth", "none")
        refusal = None
        if kind == "sigv4":
            refusal = check_sigv4("GET", self.path, headers)
            if refusal:
                return self.answer(403, {"Message": refusal})
        elif kind == "idtoken":
            refusal = check_id_token(headers)
            if refusal:
                return self.answer(401, b"<html><body>401 Unauthorized</body></html>", "text/html")
        if health:
            return self.health()
        if self.path.split("?")[0].endswith("/oauth/token/accessible-resources"):
            call = SCENARIO.get("call", {"status": 200, "body": []})
            return self.answer(call["status"], call["body"])
        return self.answer(404, {"message": "no rule for this path"})

    def health(self):
        h = SCENARIO["health"]
        kind = h.get("kind", "json")
        if kind == "json":
            return self.answer(h.get("status", 200), h["body"])
        if kind == "html":
            page = b"<!DOCTYPE html><html><body>\x1b[2J502 Bad Gateway</body></html>"
            return self.answer(502, page, "text/html")
        if kind == "redirect":
            return self.answer(302, b"", "text/plain", [("Location", h["location"])])
        if kind == "big":
            size = 10 * 1024 * 1024
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(size))
            self.end_headers()
            chunk = b" " * 65536
            try:
                for _ in range(size // len(chunk)):
                    self.wfile.write(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass
            return None
        if kind == "slow":
            time.sleep(h.get("seconds", 30))
            return self.answer(200, {})
        raise ValueError(kind)


def main():
    global PORT
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    PORT = server.server_address[1]
    print(PORT, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
