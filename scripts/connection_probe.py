#!/usr/bin/env python3
"""Holds 1,000 silent, 1,000 half-open and 200 idle keep-alive connections to a
release gateway (header-read timeout 3 s, keep-alive idle 5 s, body stall 2 s) and reports when
each kind was closed and how /healthz answered meanwhile:

    cargo build --release -p paygate && python3 scripts/connection_probe.py
"""
import os, socket, subprocess, time, tempfile, selectors, statistics, urllib.request
tmp = tempfile.mkdtemp()
env = {k: v for k, v in os.environ.items() if not k.startswith("PAYGATE_")}
env.update(PAYGATE_DATABASE_URL=f"sqlite://{tmp}/p.db", PAYGATE_ADMIN_TOKEN="probe-admin-token-123456",
           PAYGATE_HEADER_READ_TIMEOUT_SECS="3", PAYGATE_KEEP_ALIVE_IDLE_SECS="5", PAYGATE_REQUEST_BODY_TIMEOUT_SECS="2",
           PAYGATE_LOG="warn")
p = subprocess.Popen([os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "target", "release", "paygate"), "serve", "--listen", "127.0.0.1:0"], env=env,
                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
line = p.stdout.readline()
while "listening on" not in line:
    line = p.stdout.readline()
host, port = line.strip().rsplit("http://", 1)[1].split(":")
port = int(port)
def conn():
    s = socket.create_connection((host, port)); s.setblocking(False); return s
t0 = time.monotonic()
silent = [conn() for _ in range(1000)]
half = []
for _ in range(1000):
    s = conn(); s.send(b"POST /api/v1/balance HTTP/1.1\r\nHost: x\r\nContent-Ty"); half.append(s)
kept = []
for _ in range(200):
    s = socket.create_connection((host, port)); s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"); s.recv(4096); s.setblocking(False); kept.append((s, time.monotonic()))
opened = time.monotonic() - t0
lat = []
for _ in range(50):
    a = time.monotonic(); urllib.request.urlopen(f"http://{host}:{port}/healthz").read(); lat.append((time.monotonic() - a) * 1000)
sel = selectors.DefaultSelector()
for s in silent: sel.register(s, selectors.EVENT_READ, ("silent", t0))
for s in half: sel.register(s, selectors.EVENT_READ, ("half-open", t0))
for s, at in kept: sel.register(s, selectors.EVENT_READ, ("keep-alive idle", at))
closed = {"silent": [], "half-open": [], "keep-alive idle": []}
left = 2200
while left and time.monotonic() - t0 < 30:
    for key, _ in sel.select(timeout=1):
        s = key.fileobj
        try:
            data = s.recv(4096)
        except (ConnectionResetError, BlockingIOError):
            data = b""
        if not data:
            kind, at = key.data
            closed[kind].append(time.monotonic() - at); sel.unregister(s); s.close(); left -= 1
print(f"opened 2,200 sockets in {opened:.2f} s; /healthz meanwhile x50: p50 {statistics.median(lat):.1f} ms, max {max(lat):.1f} ms")
for kind, xs in closed.items():
    print(f"{kind}: {len(xs)} closed, after min {min(xs):.2f} s, median {statistics.median(xs):.2f} s, max {max(xs):.2f} s")
print("still open after 30 s:", left)
# A body that stops arriving: 408 after request_body_timeout_secs (2 s here).
s = socket.create_connection((host, port))
s.sendall(b"POST /admin/v1/merchants HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer probe-admin-token-123456\r\n"
          b"Content-Type: application/json\r\nContent-Length: 80\r\n\r\n{\"email\":")
a = time.monotonic(); answer = b""
while True:
    chunk = s.recv(4096)
    if not chunk:
        break
    answer += chunk
print(f"stalled body: {answer.split(b' ')[1].decode()} after {time.monotonic() - a:.2f} s, then closed:",
      answer.split(b"\r\n\r\n", 1)[1].decode())
p.terminate(); p.wait()
import shutil; shutil.rmtree(tmp)
