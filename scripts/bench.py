#!/usr/bin/env python3
"""Benchmark of jira-psoxy-setup against the manual procedure it replaces (issue #8).

One run on one machine, both flows talking to the same local services on 127.0.0.1 only:
the Atlassian simulator (the release binary's hidden `simulator` subcommand) and a moto server
(AWS SSM). Measures

  1. end-to-end time of a non-interactive `init --store aws-ssm` (release binary; this script
     plays the browser) against the manual procedure scripted with curl and the aws CLI
     (scripts/bench-manual.sh), with the same curl consent request for both; before every run
     moto is reset and holds Terraform's four `fill me` SecureString placeholders;
  2. start-up time of `jira-psoxy-setup --version` against `aws --version` (hyperfine when it
     is installed, else a timing loop here);
  3. the HTTP requests each flow makes, to the simulator (its GET /_sim/requests log) and to
     moto (its request recorder, cross-checked against its access log), and the size of the
     release binary.

Python 3 standard library only. Installs what it needs into the project's .venv: moto
(scripts/install-moto.sh) and the aws CLI (pip, pinned). Not part of scripts/test.sh.

    scripts/bench.py                   # 7 runs of each flow, 200 start-up runs
    scripts/bench.py --runs 3 --startup-runs 20 --json /tmp/bench.json
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import platform
import re
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
AWSCLI_VERSION = "1.46.2"
REGION = "us-east-1"
CLIENT_ID = "demo-client-id"  # the simulator's default app (src/sim/config.rs)
CLIENT_SECRET = "demo-client-secret"
PREFIX = "PSOXY_JIRA_CLOUD_"
SECRETS = ["CLIENT_ID", "CLIENT_SECRET", "REFRESH_TOKEN", "ACCESS_TOKEN"]
PLACEHOLDER = "fill me"
SITE_ID = "00000001-0000-4000-8000-000000000001"  # SimSite::numbered(1)
TFVARS = 'aws_account_id = "123456789012"\njira_cloud_id  = "fill me"\n'
# Variables that would send a child to a real AWS account (tests/it/support/moto.rs).
UNSET_ENV = [
    "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
    "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL_SSM", "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME",
    "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "ATLASSIAN_AUTH_URL", "ATLASSIAN_API_URL",
    "JIRA_CLIENT_ID", "JIRA_CLIENT_SECRET",
]


def log(msg: str) -> None:
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, text=True, **kw)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_request(port: int, method: str, path: str, body: bytes = b"",
                 headers: dict | None = None) -> tuple[int, dict, bytes]:
    """One request to 127.0.0.1:port (never anywhere else)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


# ---------------------------------------------------------------------------------------------
# Setup: tools in .venv, the release binary


def setup(args) -> dict:
    run([str(ROOT / "scripts/install-moto.sh")])
    python = VENV / "bin/python"
    have = subprocess.run(
        [str(python), "-c", "import importlib.metadata as m; print(m.version('awscli'))"],
        capture_output=True, text=True).stdout.strip()
    if have != AWSCLI_VERSION:
        log(f"installing awscli {AWSCLI_VERSION} into .venv")
        run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
             f"awscli=={AWSCLI_VERSION}"])
    if args.binary:
        binary = Path(args.binary).resolve()
    else:
        log("cargo build --release --locked (the first build takes minutes)")
        run(["cargo", "build", "--release", "--locked"], cwd=ROOT)
        meta = json.loads(run(["cargo", "metadata", "--format-version", "1", "--no-deps"],
                              cwd=ROOT, capture_output=True).stdout)
        binary = Path(meta["target_directory"]) / "release" / "jira-psoxy-setup"
    if not binary.is_file():
        sys.exit(f"bench: no binary at {binary}")
    return {
        "binary": binary,
        "aws": VENV / "bin/aws",
        "moto_server": VENV / "bin/moto_server",
        "hyperfine": shutil.which("hyperfine"),
    }


# ---------------------------------------------------------------------------------------------
# Services: moto and the simulator, both on 127.0.0.1


class Moto:
    def __init__(self, server: Path, work: Path):
        self.port = free_port()
        self.log_path = work / "moto.log"
        self.recording = work / "moto-recording.jsonl"
        env = dict(os.environ, MOTO_RECORDER_FILEPATH=str(self.recording))
        env.pop("MOTO_ENABLE_RECORDING", None)
        self.log_file = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [str(server), "-H", "127.0.0.1", "-p", str(self.port)],
            stdin=subprocess.DEVNULL, stdout=self.log_file, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                sys.exit(f"bench: moto_server exited; see {self.log_path}")
            try:
                if http_request(self.port, "GET", "/moto-api/data.json")[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        else:
            sys.exit("bench: moto_server did not answer within 60s")
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.api("/moto-api/recorder/start-recording")

    def api(self, path: str) -> bytes:
        status, _, body = http_request(self.port, "POST", path)
        if status != 200:
            sys.exit(f"bench: moto {path}: {status} {body[:200]!r}")
        return body

    def ssm(self, action: str, payload: dict) -> dict:
        """An SSM call with an unsigned, scoped Authorization header (moto checks no signature)."""
        headers = {
            "X-Amz-Target": f"AmazonSSM.{action}",
            "Content-Type": "application/x-amz-json-1.1",
            "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20240101/"
                             f"{REGION}/ssm/aws4_request, SignedHeaders=host, Signature=0",
        }
        status, _, body = http_request(self.port, "POST", "/",
                                       json.dumps(payload).encode(), headers)
        if status != 200:
            sys.exit(f"bench: moto {action}: {status} {body[:300]!r}")
        return json.loads(body or b"{}")

    def fresh_placeholders(self) -> None:
        """What Terraform leaves: every secret a `fill me` SecureString, nothing else."""
        self.api("/moto-api/reset")
        for name in SECRETS:
            self.ssm("PutParameter", {"Name": PREFIX + name, "Value": PLACEHOLDER,
                                      "Type": "SecureString"})

    def values(self) -> dict:
        out = self.ssm("GetParameters", {"Names": [PREFIX + n for n in SECRETS],
                                         "WithDecryption": True})
        return {p["Name"][len(PREFIX):]: (p["Type"], p["Value"]) for p in out["Parameters"]}

    def mark(self) -> int:
        """Starts counting: clears the recording; returns the access log's length."""
        self.api("/moto-api/recorder/reset-recording")
        return self.log_path.stat().st_size

    def since(self, offset: int) -> dict:
        """The requests since `mark`: SSM actions in order (recorder) and the access-log count."""
        status, _, body = http_request(self.port, "GET", "/moto-api/recorder/download-recording")
        if status != 200:
            sys.exit(f"bench: moto download-recording: {status}")
        actions = []
        for line in body.decode().splitlines():
            if not line.strip():
                continue
            entry = json.loads(line)
            actions.append(describe_ssm_request(entry))
        time.sleep(0.05)  # let the access log catch up with the last request
        with open(self.log_path) as f:
            f.seek(offset)
            lines = [l for l in f.read().splitlines()
                     if re.search(r'"(GET|POST|PUT|DELETE|HEAD|PATCH) ', l)
                     and "/moto-api/" not in l]
        return {"actions": actions, "access_log_requests": len(lines)}

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log_file.close()


def describe_ssm_request(entry: dict) -> str:
    """`Action NAME (details)` of one recorded request; never a parameter's value."""
    headers = {k.lower(): v for k, v in entry.get("headers", {}).items()}
    target = headers.get("x-amz-target", "")
    if not target:
        return f"{entry.get('method')} {urllib.parse.urlsplit(entry.get('url', '')).path}"
    action = target.split(".", 1)[-1]
    body = entry.get("body") or ""
    try:
        if entry.get("body_encoded"):
            body = base64.b64decode(body).decode()
        payload = json.loads(body or "{}")
    except ValueError:
        return action
    short = lambda n: n[len(PREFIX):] if n.startswith(PREFIX) else n  # noqa: E731
    if "Name" in payload:
        detail = short(payload["Name"])
        if action == "PutParameter":
            detail += f" {payload.get('Type')}"
            detail += " overwrite" if payload.get("Overwrite") else " create-only"
        elif payload.get("WithDecryption"):
            detail += " decrypted"
    elif "ResourceId" in payload:
        detail = short(payload["ResourceId"])
    elif "ParameterFilters" in payload:
        detail = "; ".join(f"{f.get('Key')} {f.get('Option')} "
                           + ",".join(short(v) for v in f.get("Values", []))
                           for f in payload["ParameterFilters"])
    elif "Names" in payload:
        detail = ",".join(short(n) for n in payload["Names"])
    else:
        detail = ""
    return f"{action} {detail}".strip()


class Simulator:
    def __init__(self, binary: Path, redirect_uri: str, work: Path):
        self.stderr = open(work / "simulator.log", "w")
        self.proc = subprocess.Popen(
            [str(binary), "simulator", "--port", "0", "--sites", "1",
             "--redirect-uri", redirect_uri],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self.stderr, text=True)
        line = self.proc.stdout.readline().strip()
        url = urllib.parse.urlsplit(line)
        if url.hostname != "127.0.0.1" or not url.port:
            sys.exit(f"bench: the simulator printed {line!r}, not a 127.0.0.1 URL")
        self.base = line.rstrip("/")
        self.port = url.port

    def requests(self) -> list[str]:
        status, _, body = http_request(self.port, "GET", "/_sim/requests")
        if status != 200:
            sys.exit(f"bench: the simulator has no /_sim/requests ({status}): "
                     "is the binary built from this branch?")
        return json.loads(body)

    def since(self, before: list[str]) -> list[str]:
        now = self.requests()
        new = now[len(before):]
        # /myself carries the cloud id in its path; one name for it is enough here.
        return [re.sub(r"/ex/jira/[^/]+/", "/ex/jira/{cloudid}/", r)
                for r in new if "/_sim/" not in r]

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.stderr.close()


# ---------------------------------------------------------------------------------------------
# The two flows


def curl_consent(sim: Simulator, authorize_url: str) -> str:
    """The browser's Accept: GET /authorize/decide?<authorize query>&decision=accept, not
    following the redirect; returns its Location. bench-manual.sh makes the same request."""
    query = urllib.parse.urlsplit(authorize_url).query
    out = run(["curl", "-sS", "-o", "/dev/null", "-w", "%{redirect_url}",
               f"{sim.base}/authorize/decide?{query}&decision=accept"],
              capture_output=True).stdout.strip()
    if "code=" not in out:
        sys.exit(f"bench: consent did not redirect with a code: {out!r}")
    return out


def base_env(moto: Moto, work: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in UNSET_ENV}
    (work / "aws").mkdir(exist_ok=True)
    (work / "aws/config").write_text("")
    (work / "aws/credentials").write_text("")
    (work / "home").mkdir(exist_ok=True)
    env.update({
        "AWS_ENDPOINT_URL": moto.endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": str(work / "aws/config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(work / "aws/credentials"),
        "HOME": str(work / "home"),
        "NO_COLOR": "1",
        "LC_ALL": "C.UTF-8",
    })
    return env


def run_tool(tools, sim: Simulator, redirect_uri: str, env: dict, tfvars: Path) -> dict:
    """`init --store aws-ssm`, non-interactive; this script is the browser."""
    cmd = [str(tools["binary"]), "init", "--non-interactive",
           "--client-id", CLIENT_ID, "--redirect-uri", redirect_uri,
           "--atlassian-auth-url", sim.base + "/", "--atlassian-api-url", sim.base + "/",
           "--store", "aws-ssm", "--tfvars", str(tfvars), "--no-browser",
           "--callback-timeout", "60"]
    env = dict(env, JIRA_CLIENT_SECRET=CLIENT_SECRET)
    with tempfile.TemporaryFile("w+") as stdout:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=stdout,
                                stderr=subprocess.PIPE, env=env, text=True, cwd=tfvars.parent)
        stderr, t_url, t_callback = [], None, None
        for line in proc.stderr:
            stderr.append(line)
            m = re.search(r"(http://127\.0\.0\.1:\d+/authorize\?\S+)", line)
            if m and t_url is None:
                t_url = time.perf_counter()
                location = curl_consent(sim, m.group(1))
                # The browser follows the redirect to the tool's loopback listener.
                run(["curl", "-sS", "-o", "/dev/null", location])
                t_callback = time.perf_counter()
        code = proc.wait()
        t_end = time.perf_counter()
    if code != 0 or t_url is None:
        sys.exit(f"bench: the tool failed (exit {code}):\n{''.join(stderr)}")
    return {
        "seconds": t_end - t0,
        "steps": {
            "start-to-authorize-url": t_url - t0,
            "consent (2 curl)": t_callback - t_url,
            "callback-to-exit": t_end - t_callback,
        },
    }


def run_manual(tools, sim: Simulator, redirect_uri: str, env: dict, tfvars: Path,
               parallel: bool) -> dict:
    env = dict(env, SIM=sim.base, CLIENT_ID=CLIENT_ID, CLIENT_SECRET=CLIENT_SECRET,
               REDIRECT_URI=redirect_uri, PREFIX=PREFIX, TFVARS=str(tfvars),
               AWS=str(tools["aws"]), PARALLEL="1" if parallel else "0",
               # aws CLI v1 reads its region from AWS_DEFAULT_REGION, not AWS_REGION.
               AWS_DEFAULT_REGION=REGION)
    t0 = time.perf_counter()
    proc = subprocess.run(["bash", str(ROOT / "scripts/bench-manual.sh")], env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          cwd=tfvars.parent)
    t_end = time.perf_counter()
    if proc.returncode != 0:
        sys.exit(f"bench: the manual procedure failed:\n{proc.stderr}")
    steps = {}
    for line in proc.stderr.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "step":
            steps[parts[1]] = int(parts[2]) / 1e6
    return {"seconds": t_end - t0, "steps": steps}


def check_written(moto: Moto, tfvars: Path, flow: str) -> None:
    """Both flows must really have replaced every placeholder and set the cloud id."""
    values = moto.values()
    for name in SECRETS:
        kind, value = values.get(name, (None, None))
        if kind != "SecureString" or value in (None, PLACEHOLDER):
            sys.exit(f"bench: after {flow}, {PREFIX}{name} is {kind} {value!r}")
    if f'"{SITE_ID}"' not in tfvars.read_text():
        sys.exit(f"bench: after {flow}, {tfvars} lacks the cloud id:\n{tfvars.read_text()}")


# ---------------------------------------------------------------------------------------------
# Start-up and size


def startup(tools, runs: int, work: Path) -> dict:
    commands = {
        "jira-psoxy-setup --version": [str(tools["binary"]), "--version"],
        "aws --version": [str(tools["aws"]), "--version"],
    }
    if tools["hyperfine"]:
        out = work / "hyperfine.json"
        run([tools["hyperfine"], "--shell=none", "--warmup", "5", "--runs", str(runs),
             "--style", "none", "--export-json", str(out),
             *[shlex.join(c) for c in commands.values()]], stdout=subprocess.DEVNULL)
        results = json.loads(out.read_text())["results"]
        return {
            "method": f"hyperfine --shell=none --warmup 5 --runs {runs}",
            "results": {name: {"median": r["median"], "mean": r["mean"],
                               "min": r["min"], "max": r["max"], "runs": len(r["times"])}
                        for name, r in zip(commands, results)},
        }
    results = {}
    for name, cmd in commands.items():
        for _ in range(5):
            subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            times.append(time.perf_counter() - t0)
        results[name] = {"median": statistics.median(times), "mean": statistics.mean(times),
                         "min": min(times), "max": max(times), "runs": runs}
    return {"method": f"Python subprocess loop, {runs} runs after 5 warm-ups "
                      "(includes Python's own fork/exec cost)", "results": results}


def round_trips(moto: Moto, sim: Simulator, n: int = 50) -> dict:
    """Median time of one request on a new connection to each service: context for how much
    of a flow's time is the services' own (moto is a Python server)."""
    def median_of(call):
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            call()
            times.append(time.perf_counter() - t0)
        return statistics.median(times)
    moto.fresh_placeholders()
    return {
        "moto GetParameter (decrypted)": median_of(lambda: moto.ssm(
            "GetParameter", {"Name": PREFIX + "REFRESH_TOKEN", "WithDecryption": True})),
        "moto PutParameter (overwrite)": median_of(lambda: moto.ssm(
            "PutParameter", {"Name": PREFIX + "CLIENT_ID", "Value": CLIENT_ID,
                             "Type": "SecureString", "Overwrite": True})),
        "simulator GET /oauth/token/accessible-resources (401)": median_of(
            lambda: http_request(sim.port, "GET", "/oauth/token/accessible-resources")),
    }


def binary_facts(binary: Path) -> dict:
    size = binary.stat().st_size
    kind = subprocess.run(["file", "-b", str(binary)], capture_output=True,
                          text=True).stdout.strip() if shutil.which("file") else ""
    return {"path": str(binary), "bytes": size, "MB": size / 1e6, "MiB": size / 2**20,
            "file": kind}


# ---------------------------------------------------------------------------------------------
# Reporting


def machine() -> dict:
    cpu = ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass

    def version(cmd):
        try:
            p = subprocess.run(cmd, capture_output=True, text=True)
            return (p.stdout or p.stderr).strip().splitlines()[0]
        except (OSError, IndexError):
            return ""
    return {"cpu": cpu, "cpus": os.cpu_count(), "kernel": platform.release(),
            "python": platform.python_version(), "curl": version(["curl", "--version"]),
            "bash": version(["bash", "--version"])}


def summarize(samples: list[dict]) -> dict:
    secs = [s["seconds"] for s in samples]
    steps = {}
    for name in samples[0]["steps"]:
        steps[name] = statistics.median(s["steps"].get(name, 0.0) for s in samples)
    return {"median": statistics.median(secs), "min": min(secs), "max": max(secs),
            "runs": secs, "median_steps": steps}


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds >= 0.1 else f"{seconds * 1000:.1f} ms"


def print_report(r: dict) -> None:
    e2e = r["end_to_end"]
    tool = e2e["tool"]["median"]
    print(f"\n## Results ({r['date']}, {r['machine']['cpus']} CPUs: {r['machine']['cpu']})\n")
    print(f"load average before/after: {r['load_before']} / {r['load_after']}\n")
    print("### End to end (median of %d runs each, interleaved)\n" % r["runs"])
    print("| flow | median | min | max | tool is faster by |")
    print("| --- | --- | --- | --- | --- |")
    for key, label in [("tool", "`jira-psoxy-setup init --store aws-ssm`"),
                       ("manual", "manual: curl + 4 x `aws ssm put-parameter` (one after another)"),
                       ("manual_parallel", "manual, the 4 `aws` calls run concurrently")]:
        s = e2e[key]
        ratio = "" if key == "tool" else f"{s['median'] / tool:.1f}x"
        print(f"| {label} | {ms(s['median'])} | {ms(s['min'])} | {ms(s['max'])} | {ratio} |")
    print()
    for key in ["tool", "manual", "manual_parallel"]:
        runs = ", ".join(f"{x * 1000:.0f}" for x in e2e[key]["runs"])
        print(f"- {key} runs (ms): {runs}")
    for key in ["tool", "manual", "manual_parallel"]:
        steps = ", ".join(f"{k} {ms(v)}" for k, v in e2e[key]["median_steps"].items())
        print(f"- {key} steps (medians): {steps}")
    s = r["startup"]
    print(f"\n### Start-up ({s['method']})\n")
    print("| command | median | mean | min | max |")
    print("| --- | --- | --- | --- | --- |")
    for name, v in s["results"].items():
        print(f"| `{name}` | {ms(v['median'])} | {ms(v['mean'])} | {ms(v['min'])} | {ms(v['max'])} |")
    b = r["binary"]
    print(f"\n### Binary\n\n{b['bytes']} bytes = {b['MB']:.2f} MB ({b['MiB']:.2f} MiB): {b['file']}")
    print("\n### One request on a new connection (median of 50)\n")
    for name, v in r["round_trips"].items():
        print(f"- {name}: {ms(v)}")
    print("\n### HTTP requests (one run of each flow)\n")
    for key in ["tool", "manual", "manual_parallel"]:
        q = r["requests"][key]
        print(f"- {key}: simulator {len(q['simulator'])} {q['simulator']}; "
              f"moto {len(q['moto']['actions'])} (access log {q['moto']['access_log_requests']}) "
              f"{q['moto']['actions']}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=7, help="end-to-end runs of each flow")
    ap.add_argument("--startup-runs", type=int, default=200, help="runs of each --version")
    ap.add_argument("--binary", help="use this jira-psoxy-setup instead of building one")
    ap.add_argument("--json", help="also write the results here (default: <work>/results.json)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    args = ap.parse_args()

    tools = setup(args)
    work = Path(tempfile.mkdtemp(prefix="jira-psoxy-bench-"))
    log(f"work directory {work}")
    load_before = " ".join(open("/proc/loadavg").read().split()[:3])
    redirect_uri = f"http://127.0.0.1:{free_port()}/callback"
    moto = Moto(tools["moto_server"], work)
    sim = Simulator(tools["binary"], redirect_uri, work)
    try:
        env = base_env(moto, work)
        tfvars = work / "terraform.tfvars"
        flows = {
            "tool": lambda: run_tool(tools, sim, redirect_uri, env, tfvars),
            "manual": lambda: run_manual(tools, sim, redirect_uri, env, tfvars, False),
            "manual_parallel": lambda: run_manual(tools, sim, redirect_uri, env, tfvars, True),
        }
        samples = {k: [] for k in flows}
        requests = {}
        # Run 0 warms caches and counts requests; runs 1..N are timed, flows interleaved so
        # that a change in the machine's load hits all of them alike.
        for i in range(args.runs + 1):
            for name, flow in flows.items():
                moto.fresh_placeholders()
                tfvars.write_text(TFVARS)
                sim_before = sim.requests()
                offset = moto.mark()
                sample = flow()
                sim_requests = sim.since(sim_before)
                moto_requests = moto.since(offset)
                check_written(moto, tfvars, name)
                if i == 0:
                    requests[name] = {"simulator": sim_requests, "moto": moto_requests}
                    log(f"{name}: warm-up {ms(sample['seconds'])}")
                else:
                    samples[name].append(sample)
                    log(f"{name}: run {i}/{args.runs} {ms(sample['seconds'])}")
        log(f"start-up: {args.startup_runs} runs of each --version")
        start = startup(tools, args.startup_runs, work)
        latency = round_trips(moto, sim)
    finally:
        sim.stop()
        moto.stop()
    versions = {
        "jira-psoxy-setup": run([str(tools["binary"]), "--version"],
                                capture_output=True).stdout.strip(),
        "aws": run([str(tools["aws"]), "--version"], capture_output=True).stdout.strip(),
        "moto": run([str(VENV / "bin/python"), "-c",
                     "import importlib.metadata as m; print(m.version('moto'))"],
                    capture_output=True).stdout.strip(),
        "hyperfine": run([tools["hyperfine"], "--version"], capture_output=True).stdout.strip()
        if tools["hyperfine"] else None,
    }
    result = {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "machine": machine(),
        "versions": versions,
        "load_before": load_before,
        "load_after": " ".join(open("/proc/loadavg").read().split()[:3]),
        "runs": args.runs,
        "end_to_end": {k: summarize(v) for k, v in samples.items()},
        "startup": start,
        "binary": binary_facts(tools["binary"]),
        "requests": requests,
        "round_trips": latency,
    }
    out = Path(args.json) if args.json else work / "results.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print_report(result)
    print(f"\n(full results: {out})")
    if args.keep or not args.json:
        log(f"kept {work} (logs of moto and the simulator, results.json)")
    else:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
