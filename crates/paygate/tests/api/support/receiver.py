"""A merchant's webhook endpoint, as the documentation tells merchants to
write one: verify X-Signature = hex(HMAC-SHA256(secret, raw body)) with
Python's hmac, then answer. Each request is appended as one JSON line to the
log file; the answers follow a plan of status codes (then 200)."""
import hashlib, hmac, json, os, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import threading
import time

# Seconds each answer is held back after the request is logged (a slow
# merchant, or one whose answer a crash can cut off).
pause = float(os.environ.get("RECEIVER_PAUSE_MS", "0")) / 1000

port_file, secret_file, log_file, plan = sys.argv[1:5]
fixed_port = int(sys.argv[5]) if len(sys.argv) > 5 else 0
# "500" answers 500; a "z" suffix ("500z") puts a NUL byte in the answer's body.
statuses = [s for s in plan.split(",") if s]


lock = threading.Lock()


class Hook(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        secret = open(secret_file).read().strip().encode()
        expected = hmac.new(secret, body, hashlib.sha256).hexdigest()
        valid = hmac.compare_digest(expected, self.headers.get("X-Signature", ""))
        with lock:
            step = statuses.pop(0) if statuses else "200"
        status, nul = int(step.rstrip("z")), step.endswith("z")
        parsed = json.loads(body)
        record = {"event_id": self.headers.get("X-Event-Id"), "event_type": self.headers.get("X-Event-Type"),
                  "content_type": self.headers.get("Content-Type"), "valid": valid, "raw": body.decode(),
                  "body": parsed, "answered": status}
        with lock, open(log_file, "a") as f:
            f.write(json.dumps(record) + "\n")
        time.sleep(pause)
        try:
            self.send_response(status)
            self.end_headers()
            self.wfile.write(b"try\x00again" if nul else (b"ok" if status < 300 else b"try again"))
        except (BrokenPipeError, ConnectionResetError):
            pass  # the gateway died (or gave up) before the answer: logged above all the same

    def log_message(self, *args):
        pass


ThreadingHTTPServer.allow_reuse_address = True
server = ThreadingHTTPServer(("127.0.0.1", fixed_port), Hook)
with open(port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(port_file + ".tmp", port_file)
server.serve_forever()
