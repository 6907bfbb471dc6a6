#!/usr/bin/env python3
"""Runs the README as a new user would, so CI fails when the README does.

    scripts/readme_check.py quickstart   # the run command + every Quick start snippet
    scripts/readme_check.py test-command # prints the README's test command

`quickstart` reads README.md itself, so the check follows the README:
- the run command is the last command line of the first block under
  "## The two commands";
- every ```sh and ```python block of "## Quick start" runs in order, in one
  bash session (variables exported by one block are there for the next;
  a Python block runs as a script with that environment), and each must
  succeed: snippets use `curl --fail-with-body` and raise on HTTP errors;
- a line of a snippet that is the run command starts the gateway in the
  background; the check waits for /healthz (the first run includes the
  release build) and stops it with SIGTERM at the end, which must end it.
Two things differ from a person's laptop, so that the check can run beside
anything else: the gateway listens on a free port (`127.0.0.1:8080` in the
snippets is rewritten to it) and keeps its database in a temporary
directory (`PAYGATE_DATABASE_URL`), not `./paygate.db` in the checkout.
After the snippets, the check makes its own signed balance call and expects
what the Quick start says the balance is.
"""
import hashlib
import hmac
import json
import os
import re
import shlex
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = os.path.join(ROOT, "README.md")
DOC_ADDRESS = "127.0.0.1:8080"


def section(text, heading):
    """The text under `## heading` up to the next `## `."""
    match = re.search(rf"^## {re.escape(heading)}\s*$(.*?)(?=^## |\Z)", text, re.M | re.S)
    if not match:
        sys.exit(f"readme-check: README.md has no '## {heading}' section")
    return match.group(1)


def blocks(text):
    """(language, code) of each fenced block, in order; indented blocks too."""
    found = []
    for m in re.finditer(r"^([ \t]*)```(\w*)[ \t]*\n(.*?)^\1```[ \t]*$", text, re.M | re.S):
        indent, lang, code = m.group(1), m.group(2), m.group(3)
        lines = [line[len(indent):] if line.startswith(indent) else line for line in code.splitlines()]
        found.append((lang, "\n".join(lines) + "\n"))
    return found


def command_lines(code):
    return [line.strip() for line in code.splitlines() if line.strip() and not line.strip().startswith("#")]


def the_two_commands(text):
    both = blocks(section(text, "The two commands"))
    if len(both) < 2:
        sys.exit("readme-check: '## The two commands' must hold two code blocks (run, test)")
    run, test = command_lines(both[0][1]), command_lines(both[1][1])
    if not run or not test:
        sys.exit("readme-check: a block of '## The two commands' has no command")
    return run[-1], test[-1]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def session_script(snippets, run_command, port, log):
    """One bash script running every snippet in order."""
    out = [
        "set -euo pipefail",
        "gateway_pid=",
        "start_gateway() {",
        # A session of its own, so the stop reaches cargo and the gateway.
        f"  setsid bash -c {shlex.quote(run_command)} >{shlex.quote(log)} 2>&1 &",
        "  gateway_pid=$!",
        "  echo \"$gateway_pid\" > \"$README_CHECK_PID_FILE\"",
        "  for _ in $(seq 1 1800); do",
        f"    if curl -fs http://127.0.0.1:{port}/healthz >/dev/null; then return 0; fi",
        "    if ! kill -0 \"$gateway_pid\" 2>/dev/null; then",
        "      echo 'readme-check: the run command exited before /healthz answered:' >&2",
        f"      tail -n 30 {shlex.quote(log)} >&2; return 1",
        "    fi",
        "    sleep 1",
        "  done",
        "  echo 'readme-check: /healthz did not answer within 30 minutes' >&2; return 1",
        "}",
    ]
    for number, (lang, code) in enumerate(snippets, 1):
        code = code.replace(DOC_ADDRESS, f"127.0.0.1:{port}")
        out.append(f"echo; echo '--- readme-check: snippet {number} ({lang})' >&2")
        if lang == "python":
            out.append("python3 - <<'README_CHECK_PYTHON'")
            out.append(code.rstrip("\n"))
            out.append("README_CHECK_PYTHON")
            continue
        for line in code.splitlines():
            out.append("start_gateway" if line.strip() == run_command else line)
    # What the verification needs from the session.
    out.append("printf '%s\\n%s\\n%s\\n' \"$PUBLIC_TOKEN\" \"$SECRET_TOKEN\" \"$EMAIL\" > \"$README_CHECK_TOKENS\"")
    return "\n".join(out) + "\n"


def signed_balance(port, public_token, secret_token, email):
    ts = str(int(time.time()))
    sig = hmac.new(secret_token.encode(), (ts + email).encode(), hashlib.sha256).hexdigest()
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/balance", data=b"{}", method="POST",
        headers={"Content-Type": "application/json", "Accept": "application/json, text/plain",
                 "X-App-Token": public_token, "X-App-Access-Ts": ts, "X-App-Access-Sig": sig})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.load(resp)["data"]


def stop(pid_file):
    """SIGTERM to the gateway's session; it must be gone within 15 s."""
    try:
        pid = int(open(pid_file).read().strip())
    except (OSError, ValueError):
        return True
    try:
        os.killpg(pid, 15)
    except ProcessLookupError:
        return True
    for _ in range(150):
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    os.killpg(pid, 9)
    return False


def quickstart():
    text = open(README).read()
    run_command, _ = the_two_commands(text)
    snippets = [(lang, code) for lang, code in blocks(section(text, "Quick start")) if lang in ("sh", "python")]
    if not any(line.strip() == run_command for _, code in snippets for line in code.splitlines()):
        sys.exit(f"readme-check: the Quick start never runs the run command {run_command!r}")
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="readme-check-") as tmp:
        log = os.path.join(tmp, "gateway.log")
        env = dict(os.environ)
        for name in list(env):
            # A developer's own settings must not leak into a new user's run.
            if name.startswith("PAYGATE_"):
                del env[name]
        env.update({
            "PAYGATE_LISTEN": f"127.0.0.1:{port}",
            "PAYGATE_DATABASE_URL": f"sqlite://{tmp}/paygate.db",
            "README_CHECK_PID_FILE": os.path.join(tmp, "pid"),
            "README_CHECK_TOKENS": os.path.join(tmp, "tokens"),
        })
        script = session_script(snippets, run_command, port, log)
        print(f"readme-check: run command {run_command!r}, {len(snippets)} Quick start snippets, port {port}",
              file=sys.stderr)
        try:
            done = subprocess.run(["bash", "-c", script], cwd=ROOT, env=env)
            if done.returncode != 0:
                sys.exit(f"readme-check: a Quick start snippet failed (exit {done.returncode}); see above")
            # What the README points a browser at.
            for page in ("/healthz", "/docs", "/openapi.json"):
                with urllib.request.urlopen(f"http://127.0.0.1:{port}{page}", timeout=10) as resp:
                    if resp.status != 200:
                        sys.exit(f"readme-check: GET {page} answered {resp.status}")
            public_token, secret_token, email = open(env["README_CHECK_TOKENS"]).read().splitlines()
            balances = signed_balance(port, public_token, secret_token, email)["balances"]
            rub = [b for b in balances if b["currency"] == "RUB"]
            # The Quick start pays in 1500.00 and pays out 1000.00.
            if len(rub) != 1 or (rub[0]["available"], rub[0]["hold"]) != ("500.00", "0.00"):
                sys.exit(f"readme-check: after the Quick start the balance is {balances}, not 500.00 available")
            # The partner's purchase_url order pays 25.00 EUR into its balance.
            eur = [b for b in balances if b["currency"] == "EUR"]
            if len(eur) != 1 or eur[0]["available"] != "25.00":
                sys.exit(f"readme-check: after the Quick start the EUR balance is {balances}, not 25.00 available")
        finally:
            stopped = stop(env["README_CHECK_PID_FILE"])
        if not stopped:
            sys.exit("readme-check: the gateway did not stop within 15 s of SIGTERM")
    print("readme-check: the README's run command and Quick start work as printed", file=sys.stderr)


def main():
    what = sys.argv[1] if len(sys.argv) > 1 else ""
    if what == "quickstart":
        quickstart()
    elif what == "test-command":
        print(the_two_commands(open(README).read())[1])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
