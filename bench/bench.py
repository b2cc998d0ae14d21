#!/usr/bin/env python3
"""offlinetube against a reference nginx, measured side by side in one run (`make bench`).

Both serve the same files (hard links: one inode, one page cache) on loopback. Every load
figure is the median of rounds that alternate between the two servers, so that whatever
else the machine is doing falls on both. Load comes from wrk; memory and CPU from /proc.

  1. thumbnail throughput: GET /api/thumbnails/<id> (7.5 KB JPEG) vs nginx, wrk -t2 -c32
  2. large-file throughput: GET /api/stream/<file> (100 MiB) vs nginx, wrk -t1 -c4
  3. RSS idle after start, and after the load
  4. GET /api/downloads latency with 10,000 tasks in the store (bench/gen_tasks.py)
  5. start-up time to the first 200 with that 10,000-task tasks.json
  6. the server's own CPU per download (a real yt-dlp download of the 100 MiB file from nginx)

Prints one table and writes it into BENCHMARKS.md between the bench markers, with the
machine, the date and the commit. Needs wrk, nginx, ffmpeg and yt-dlp (`make bench` installs
them when missing). It only ever talks to 127.0.0.1, and every load run is bounded in time.
"""

import argparse
import datetime
import http.client
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HERE = os.path.join(ROOT, "bench")
CLK_TCK = os.sysconf("SC_CLK_TCK")
THUMB_BYTES = 7680  # 7.5 KiB
LARGE_BYTES = 100 * 1024 * 1024
TASKS = 10_000
MARK_BEGIN = "<!-- bench:begin (written by make bench; edits inside are overwritten) -->"
MARK_END = "<!-- bench:end -->"

# Targets from the issue: (what, how it is compared, limit).
TARGETS = {
    "thumb": 0.9,  # × nginx requests/s
    "large": 0.85,  # × nginx MB/s
    "rss_idle": 4.0,  # MiB
    "rss_10k": 20.0,  # MiB
    "list_p50": 15.0,  # ms
    "startup": 100.0,  # ms
    "cpu_ratio": 1.0,  # % of yt-dlp's CPU
}


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- /proc


def proc_status(pid, key):
    """A `Vm…` line of /proc/PID/status in MiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def rss(pid):
    return proc_status(pid, "VmRSS")


def cpu(pid):
    """(own user+system seconds of every thread, reaped children's user+system seconds)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # After the ")": state is fields[0]; utime, stime, cutime, cstime are stat fields 14-17.
    utime, stime, cutime, cstime = (int(x) for x in fields[11:15])
    return (utime + stime) / CLK_TCK, (cutime + cstime) / CLK_TCK


def tree_pids(pid):
    """`pid` and its child processes (nginx: master and worker)."""
    pids = [pid]
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            pids += [int(p) for p in f.read().split()]
    except OSError:
        pass
    return pids


# ---------------------------------------------------------------- fixtures


def make_thumbnail(path):
    """A real JPEG from ffmpeg's test pattern, quality chosen to land just under 7.5 KiB,
    then padded after its end marker to exactly 7,680 bytes (decoders ignore the padding)."""
    best = None
    for q in range(2, 32):
        run(["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=320x180",
             "-frames:v", "1", "-q:v", str(q), path])
        size = os.path.getsize(path)
        if size <= THUMB_BYTES:
            best = q
            break
    if best is None:
        raise SystemExit("bench: cannot make a JPEG under 7.5 KiB")
    with open(path, "ab") as f:
        f.write(b"\0" * (THUMB_BYTES - os.path.getsize(path)))


def make_large(path):
    chunk = 4 * 1024 * 1024
    with open(path, "wb") as f:
        for _ in range(LARGE_BYTES // chunk):
            f.write(os.urandom(chunk))


NGINX_CONF = """\
worker_processes 1;
daemon off;
user root;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    types {{ image/jpeg jpg; video/mp4 mp4; }}
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path {work}/nginx-tmp;
    proxy_temp_path {work}/nginx-tmp;
    fastcgi_temp_path {work}/nginx-tmp;
    uwsgi_temp_path {work}/nginx-tmp;
    scgi_temp_path {work}/nginx-tmp;
    server {{
        listen 127.0.0.1:{port};
        root {www};
        etag on;
    }}
}}
"""


# ---------------------------------------------------------------- servers


class Offlinetube:
    def __init__(self, binary, data_dir, extra_args=(), env=None, log_path=None, ready_path="/api/health"):
        self.binary, self.data_dir, self.ready_path = binary, data_dir, ready_path
        self.extra_args, self.env = list(extra_args), env or {}
        self.log_path = log_path or os.path.join(data_dir, "server.log")
        self.proc = None
        self.port = None

    def start(self):
        """Starts and waits for the first 200 of `ready_path`; returns the milliseconds that took."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("OFFLINETUBE_")}
        # Like nginx's `access_log off`: no line per request (warnings and errors still logged).
        env["RUST_LOG"] = "info,access=off"
        env.update(self.env)
        logf = open(self.log_path, "ab")
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            [self.binary, "--data-dir", self.data_dir, "--listen", "127.0.0.1:0"] + self.extra_args,
            stdout=subprocess.PIPE, stderr=logf, stdin=subprocess.DEVNULL, env=env)
        logf.close()
        line = self.proc.stdout.readline().decode()
        m = re.search(r"127\.0\.0\.1:(\d+)", line)
        if not m:
            self.stop()
            raise SystemExit(f"bench: offlinetube did not start (see {self.log_path}): {line!r}")
        self.port = int(m.group(1))
        while True:
            try:
                status, _ = get(self.port, self.ready_path)
                if status == 200:
                    return (time.perf_counter() - t0) * 1000
            except OSError:
                pass
            if time.perf_counter() - t0 > 30:
                raise SystemExit("bench: offlinetube gave no 200 within 30 s")
            time.sleep(0.0005)

    @property
    def pid(self):
        return self.proc.pid

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


class Nginx:
    def __init__(self, work, www):
        self.work, self.www = work, www
        self.port = free_port()
        self.proc = None

    def start(self):
        os.makedirs(os.path.join(self.work, "nginx-tmp"), exist_ok=True)
        conf = os.path.join(self.work, "nginx.conf")
        with open(conf, "w") as f:
            f.write(NGINX_CONF.format(work=self.work, www=self.www, port=self.port))
        self.proc = subprocess.Popen(["nginx", "-p", self.work, "-c", conf],
                                     stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                if get(self.port, "/thumb.jpg")[0] == 200 and len(tree_pids(self.pid)) > 1:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise SystemExit(f"bench: nginx did not start (see {self.work}/nginx-error.log)")

    @property
    def pid(self):
        return self.proc.pid

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def rss(self):
        return sum(rss(p) for p in tree_pids(self.pid))

    def cpu(self):
        return sum(cpu(p)[0] for p in tree_pids(self.pid))

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()  # SIGTERM: fast shutdown of master and worker
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def get(port, path, method="GET", body=None, timeout=5):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        c.request(method, path, body=body, headers=headers)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


# ---------------------------------------------------------------- wrk

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60000.0}
SIZES = {"B": 1, "KB": 1024, "MB": 1024 ** 2, "GB": 1024 ** 3, "TB": 1024 ** 4}


def ms(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    return float(m.group(1)) * UNITS[m.group(2)]


def wrk(url, threads, conns, secs, latency=True):
    out = run(["wrk", f"-t{threads}", f"-c{conns}", f"-d{secs}s"] + (["--latency"] if latency else []) + [url])
    res = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}
    m = re.search(r"Transfer/sec:\s+([\d.]+)(\w+)", out)
    res["bytes_s"] = float(m.group(1)) * SIZES[m.group(2)]
    res["requests"] = int(re.search(r"(\d+) requests in", out).group(1))
    for p in ("50", "99"):
        m = re.search(rf"^\s+{p}(?:\.000)?%\s+(\S+)", out, re.M)
        res[f"p{p}"] = ms(m.group(1)) if m else float("nan")
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    res["non2xx"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: (.*)", out)
    res["socket_errors"] = m.group(1).strip() if m else ""
    return res


def timed_wrk(server, cpu_of, url, threads, conns, secs):
    """wrk against `server`, with the server's CPU seconds over the run."""
    before = cpu_of()
    res = wrk(url, threads, conns, secs)
    res["cpu_s"] = cpu_of() - before
    if res["non2xx"] or res["socket_errors"]:
        log(f"  {server}: {res['non2xx']} non-2xx answers, socket errors: {res['socket_errors'] or 'none'}")
    return res


def med(rounds, key):
    return statistics.median(r[key] for r in rounds)


def interleaved(name, servers, threads, conns, secs, rounds):
    """`rounds` runs of each server in `servers` ({label: (server, url, cpu_of)}), the order
    rotating every round, after a short warm-up of each."""
    log(f"{name}: warm-up")
    for _, url, _ in servers.values():
        wrk(url, threads, conns, 2, latency=False)
    res = {label: [] for label in servers}
    labels = list(servers)
    for i in range(rounds):
        for label in labels[i % len(labels):] + labels[:i % len(labels)]:
            _, url, cpu_of = servers[label]
            r = timed_wrk(label, cpu_of, url, threads, conns, secs)
            res[label].append(r)
            log(f"{name}: round {i + 1} {label:18} {r['rps']:9.0f} req/s {r['bytes_s'] / 2**20:8.1f} MiB/s"
                f"  p50 {r['p50']:.3f} ms  p99 {r['p99']:.3f} ms  cpu {r['cpu_s']:.2f} s")
    return res


# ---------------------------------------------------------------- the download


def download_cpu(ot, url, runs):
    """Per download: the server's own CPU seconds (all its threads) and its reaped children's
    (yt-dlp and whatever yt-dlp ran), from the POST to the task's end."""
    out = []
    for i in range(runs):
        own0, kids0 = cpu(ot.pid)
        t0 = time.perf_counter()
        status, body = get(ot.port, "/api/download", "POST", json.dumps({"url": f"{url}?run={i}"}))
        if status != 200:
            raise SystemExit(f"bench: POST /api/download answered {status}: {body[:300]!r}")
        tid = json.loads(body)["id"]
        while True:
            time.sleep(0.25)  # a web page polls about this often
            task = json.loads(get(ot.port, f"/api/downloads/{tid}")[1])
            if task["status"] in ("completed", "error", "cancelled"):
                break
            if time.perf_counter() - t0 > 300:
                raise SystemExit("bench: the download did not finish in 5 minutes")
        if task["status"] != "completed":
            raise SystemExit(f"bench: the download ended {task['status']}: {task.get('error_message')}")
        # yt-dlp is reaped by the server right before the task completes; give it a moment.
        time.sleep(0.2)
        own1, kids1 = cpu(ot.pid)
        secs = time.perf_counter() - t0
        r = {"server_cpu": own1 - own0, "ytdlp_cpu": kids1 - kids0, "wall": secs,
             "size": task["filesize"]}
        r["ratio"] = 100 * r["server_cpu"] / r["ytdlp_cpu"] if r["ytdlp_cpu"] else float("nan")
        log(f"download {i + 1}: {secs:.2f} s, server {r['server_cpu'] * 1000:.0f} ms CPU, "
            f"yt-dlp {r['ytdlp_cpu'] * 1000:.0f} ms CPU ({r['ratio']:.2f} %)")
        get(ot.port, f"/api/downloads/{tid}/remove", "DELETE")
        out.append(r)
    return out


# ---------------------------------------------------------------- report


def machine():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_gib = int(f.readline().split()[1]) / 2**20
    debian = open("/etc/debian_version").read().strip() if os.path.exists("/etc/debian_version") else "?"
    return (f"{platform.machine()}, {os.cpu_count()} cores ({model}), {mem_gib:.0f} GiB, "
            f"Linux {platform.release()}, Debian {debian}")


def versions():
    def first(cmd):
        try:
            p = subprocess.run(cmd, capture_output=True, text=True)
            return (p.stdout or p.stderr).strip().splitlines()[0]
        except (OSError, IndexError):
            return "?"
    return {
        "rustc": first(["rustc", "--version"]),
        "nginx": first(["nginx", "-v"]).replace("nginx version: ", ""),
        "wrk": first(["wrk", "--version"]).split(" [")[0],
        "yt-dlp": first(["yt-dlp", "--version"]),
    }


def commit():
    try:
        rev = run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"]).strip()
        dirty = run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"]).strip()
        return rev + (" + uncommitted changes" if dirty else "")
    except (subprocess.CalledProcessError, OSError):
        return "?"


def verdict(ok):
    return "met" if ok else "**missed**"


def fmt_sizes():
    rows = []
    for triple in ("x86_64-unknown-linux-musl", "aarch64-unknown-linux-musl", "armv7-unknown-linux-gnueabihf"):
        path = os.path.join(ROOT, "target", triple, "release", "offlinetube")
        if os.path.exists(path):
            desc = run(["file", "-b", path]).strip()
            static = "static" if ("statically linked" in desc or "static-pie" in desc) else "DYNAMIC"
            rows.append(f"| {triple} | {os.path.getsize(path):,} B ({os.path.getsize(path) / 1e6:.2f} MB) | {static} |")
    if not rows:
        return "(no release binaries yet: run `make release`)"
    return "| target | size | linking |\n|---|---|---|\n" + "\n".join(rows)


def report(res, bins, started, secs):
    """One table: a column per offlinetube binary (its ratio to nginx beside the figure where
    there is one), nginx, the target, and met/missed per binary."""
    labels = list(bins)
    ng_t, ng_l = res["nginx"]["thumb"], res["nginx"]["large"]

    def row(what, value, nginx="", target="", ok=None):
        cells = [value(res[b]) for b in labels]
        verdicts = ", ".join(f"{b}: {verdict(ok(res[b]))}" for b in labels) if ok else ""
        return "| " + " | ".join([what] + cells + [nginx, target, verdicts]) + " |"

    def thumb_ratio(r):
        return med(r["thumb"], "rps") / med(ng_t, "rps")

    def large_ratio(r):
        return med(r["large"], "bytes_s") / med(ng_l, "bytes_s")

    def per_k(rounds):
        return f"{1e6 * med(rounds, 'cpu_s') / med(rounds, 'requests'):.1f} ms"

    def per_gib(rounds):
        return f"{1000 * med(rounds, 'cpu_s') / (med(rounds, 'bytes_s') * secs / 2**30):.0f} ms"

    def dl(r, key):
        """Per download: the sum over every download, divided by their number."""
        return sum(d[key] for d in r["download"]) / len(r["download"])

    def dl_ratio(r):
        return 100 * dl(r, "server_cpu") / dl(r, "ytdlp_cpu")

    rows = [
        row("1. thumbnail, 7.5 KB JPEG, wrk -t2 -c32: requests/s",
            lambda r: f"{med(r['thumb'], 'rps'):,.0f} ({thumb_ratio(r):.2f}×)", f"{med(ng_t, 'rps'):,.0f}",
            "≥ 0.90× nginx", lambda r: thumb_ratio(r) >= TARGETS["thumb"]),
        row("   p50 / p99 latency",
            lambda r: f"{med(r['thumb'], 'p50'):.2f} / {med(r['thumb'], 'p99'):.2f} ms",
            f"{med(ng_t, 'p50'):.2f} / {med(ng_t, 'p99'):.2f} ms"),
        row("   server CPU per 1,000 requests", lambda r: per_k(r["thumb"]), per_k(ng_t)),
        row("2. large file, 100 MiB, wrk -t1 -c4: MiB/s",
            lambda r: f"{med(r['large'], 'bytes_s') / 2**20:,.0f} ({large_ratio(r):.2f}×)",
            f"{med(ng_l, 'bytes_s') / 2**20:,.0f}", "≥ 0.85× nginx", lambda r: large_ratio(r) >= TARGETS["large"]),
        row("   server CPU per GiB sent", lambda r: per_gib(r["large"]), per_gib(ng_l)),
        row("3. RSS idle after start (1 task)", lambda r: f"{r['rss_idle']:.1f} MiB",
            f"{res['nginx']['rss_idle']:.1f} MiB", "≤ 4 MiB", lambda r: r["rss_idle"] <= TARGETS["rss_idle"]),
        row("   RSS after the load of 1 and 2", lambda r: f"{r['rss_loaded']:.1f} MiB",
            f"{res['nginx']['rss_loaded']:.1f} MiB"),
        row("   RSS idle with 10,000 tasks loaded", lambda r: f"{r['rss_10k_idle']:.1f} MiB", "",
            "≤ 20 MiB", lambda r: r["rss_10k_idle"] <= TARGETS["rss_10k"]),
        row("   RSS with 10,000 tasks after the load of 4", lambda r: f"{r['rss_10k_loaded']:.1f} MiB", "",
            "≤ 20 MiB", lambda r: r["rss_10k_loaded"] <= TARGETS["rss_10k"]),
        row(f"4. GET /api/downloads, 10,000 tasks ({res[labels[0]]['list_bytes'] / 1e6:.1f} MB), "
            f"wrk -t1 -c1: p50 / p99",
            lambda r: f"{r['list']['p50']:.1f} / {r['list']['p99']:.1f} ms", "", "p50 ≤ 15 ms",
            lambda r: r["list"]["p50"] <= TARGETS["list_p50"]),
        row("5. start-up to the first 200 (GET /api/downloads/<id>), 10,000-task tasks.json (median of 5)",
            lambda r: f"{r['startup']:.0f} ms", "", "≤ 100 ms", lambda r: r["startup"] <= TARGETS["startup"]),
        row("   same, yt-dlp and ffmpeg stubbed by shell scripts",
            lambda r: f"{r['startup_stub']:.0f} ms"),
        row("   to the first 200 of /api/health (it waits for yt-dlp's version)",
            lambda r: f"{r['startup_health']:.0f} ms"),
        row(f"6. server CPU per download of 100 MiB from nginx (mean of {len(res[labels[0]]['download'])})",
            lambda r: f"{dl(r, 'server_cpu') * 1000:.0f} ms = {dl_ratio(r):.2f} % of "
                      f"yt-dlp's {dl(r, 'ytdlp_cpu') * 1000:.0f} ms",
            "", "≤ 1 % of yt-dlp's", lambda r: dl_ratio(r) <= TARGETS["cpu_ratio"]),
        row("   with the access log on: thumbnail requests/s",
            lambda r: f"{r['thumb_logged']:,.0f}"),
    ]
    head = "| measure | " + " | ".join(f"offlinetube {b}" for b in labels) + " | nginx | target | |"
    table = [head, "|---|" + "---:|" * (len(labels) + 1) + "---|---|"] + rows
    v = versions()
    binaries = "; ".join(f"{b}: `{os.path.relpath(p, ROOT)}` ({os.path.getsize(p) / 1e6:.2f} MB)"
                         for b, p in bins.items())
    text = [
        f"Measured {started:%Y-%m-%d %H:%M} UTC on {machine()}; commit {commit()}.",
        "",
        f"Binaries: {binaries}; {v['rustc']}. Reference: nginx {v['nginx']} (one worker, sendfile "
        f"on, access log off). Load: {v['wrk']}, {secs} s runs, medians of the rounds. yt-dlp "
        f"{v['yt-dlp']}. offlinetube runs with its access log off too (`RUST_LOG=info,access=off`); "
        f"the last row has it on.",
        "",
    ] + table + ["", "Release binaries (`make release`):", "", fmt_sizes(), ""]
    return "\n".join(text)


def write_benchmarks(text):
    path = os.path.join(ROOT, "BENCHMARKS.md")
    block = f"{MARK_BEGIN}\n{text}{MARK_END}"
    old = open(path, encoding="utf-8").read() if os.path.exists(path) else "# Benchmarks\n\n" + MARK_BEGIN + "\n" + MARK_END + "\n"
    if MARK_BEGIN in old and MARK_END in old:
        new = old.split(MARK_BEGIN)[0] + block + old.split(MARK_END, 1)[1]
    else:
        new = old.rstrip("\n") + "\n\n" + block + "\n"
    with open(path, "w", encoding="utf-8") as f:
        f.write(new)
    log(f"wrote {path}")


# ---------------------------------------------------------------- main


def parse_bins(specs):
    """`label=path` or `path`; by default the static musl release binary (what a Pi or a NAS
    runs) and the host's glibc build."""
    if not specs:
        specs = [f"static-musl={os.path.join(ROOT, 'target', 'x86_64-unknown-linux-musl', 'release', 'offlinetube')}",
                 f"glibc={os.path.join(ROOT, 'target', 'release', 'offlinetube')}"]
    bins = {}
    for spec in specs:
        label, _, path = spec.rpartition("=")
        path = os.path.abspath(path)
        if not os.access(path, os.X_OK):
            raise SystemExit(f"bench: no binary at {path} (make bench builds it)")
        bins[label or os.path.basename(os.path.dirname(os.path.dirname(path)))] = path
    return bins


def main():
    ap = argparse.ArgumentParser(description="offlinetube vs nginx, side by side")
    ap.add_argument("--bin", action="append", default=[], metavar="[LABEL=]PATH",
                    help="an offlinetube binary to measure (repeat for several)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--secs", type=int, default=10)
    # /proc counts CPU time in 10 ms ticks and one download costs the server about that much:
    # ten downloads make the sum precise to about 10 %.
    ap.add_argument("--downloads", type=int, default=10)
    ap.add_argument("--only", choices=["serve", "list"], help="only 1-3, or only 3-5 (quick comparisons)")
    ap.add_argument("--no-write", action="store_true", help="print the table, leave BENCHMARKS.md")
    args = ap.parse_args()
    bins = parse_bins(args.bin)
    for tool in ("wrk", "nginx", "ffmpeg", "yt-dlp"):
        if not shutil.which(tool):
            raise SystemExit(f"bench: {tool} not found (make bench installs it)")
    started = datetime.datetime.now(datetime.timezone.utc)
    work = tempfile.mkdtemp(prefix="offlinetube-bench-")
    os.chmod(work, 0o755)
    running = []

    def start(server):
        running.append(server)
        return server.start()

    def stop(server):
        server.stop()
        running.remove(server)

    res = {b: {} for b in list(bins) + ["nginx"]}
    try:
        # Fixtures: one task owns the large file and the thumbnail.
        data, data10k, www = (os.path.join(work, d) for d in ("data", "data-10k", "www"))
        for d in (data, data10k):
            os.makedirs(os.path.join(d, "downloads"))
            os.makedirs(os.path.join(d, "thumbnails"))
        os.makedirs(www)
        tid = str(uuid.uuid4())
        large_name = f"Bench large file__{tid}.mp4"
        log("making a 7.5 KiB JPEG and a 100 MiB file")
        thumb = os.path.join(data, "thumbnails", f"{tid}.jpg")
        make_thumbnail(thumb)
        large = os.path.join(data, "downloads", large_name)
        make_large(large)
        os.link(thumb, os.path.join(data10k, "thumbnails", f"{tid}.jpg"))
        os.link(large, os.path.join(data10k, "downloads", large_name))
        os.link(thumb, os.path.join(www, "thumb.jpg"))
        os.link(large, os.path.join(www, "large.mp4"))
        gen = [sys.executable, os.path.join(HERE, "gen_tasks.py"), "--attach", f"{tid}:{large_name}:{LARGE_BYTES}"]
        run(gen + ["--count", "0", "--out", os.path.join(data, "tasks.json")])
        log(f"generating {TASKS:,} tasks")
        run(gen + ["--count", str(TASKS), "--out", os.path.join(data10k, "tasks.json")])
        stub_dir = os.path.join(work, "stubs")
        os.makedirs(stub_dir)
        for name, text in (("yt-dlp", "2099.01.01"), ("ffmpeg", "ffmpeg version stub")):
            p = os.path.join(stub_dir, name)
            with open(p, "w") as f:
                f.write(f"#!/bin/sh\necho '{text}'\n")
            os.chmod(p, 0o755)

        ng = Nginx(work, www)
        start(ng)
        # No thumbnail is ever fetched from outside: the fallback points at nginx.
        fallback = ["--thumbnail-fallback-base", f"http://127.0.0.1:{ng.port}/none"]
        stubs = ["--yt-dlp", os.path.join(stub_dir, "yt-dlp"), "--ffmpeg", os.path.join(stub_dir, "ffmpeg")]

        if args.only != "list":
            ots = {b: Offlinetube(p, data, fallback, log_path=os.path.join(work, f"{b}.log")) for b, p in bins.items()}
            for b, ot in ots.items():
                start(ot)
            time.sleep(1)
            for b, ot in ots.items():
                res[b]["rss_idle"] = rss(ot.pid)
            res["nginx"]["rss_idle"] = ng.rss()
            log("idle RSS: " + ", ".join(f"{b} {res[b]['rss_idle']:.1f} MiB" for b in res))

            def servers(ot_path, ng_path):
                d = {b: (ot, ot.url(ot_path), (lambda pid=ot.pid: cpu(pid)[0])) for b, ot in ots.items()}
                d["nginx"] = (ng, ng.url(ng_path), ng.cpu)
                return d

            thumb_res = interleaved("thumbnail", servers(f"/api/thumbnails/{tid}", "/thumb.jpg"),
                                    2, 32, args.secs, args.rounds)
            large_res = interleaved("large file", servers(f"/api/stream/{large_name.replace(' ', '%20')}", "/large.mp4"),
                                    1, 4, args.secs, args.rounds)
            for b in res:
                res[b]["thumb"], res[b]["large"] = thumb_res[b], large_res[b]
            for b, ot in ots.items():
                res[b]["rss_loaded"] = rss(ot.pid)
                stop(ot)
            res["nginx"]["rss_loaded"] = ng.rss()
            log("RSS after load: " + ", ".join(f"{b} {res[b]['rss_loaded']:.1f} MiB" for b in res))
            for b in res:
                t, l = res[b]["thumb"], res[b]["large"]
                print(f"{b}: thumbnails {med(t, 'rps'):,.0f} req/s, large file {med(l, 'bytes_s') / 2**20:,.0f} MiB/s")
            if args.only == "serve":
                return

        for b, binary in bins.items():
            r = res[b]
            if args.only != "list":
                # The same thumbnails with the access log on (one line per request to stderr).
                logged = Offlinetube(binary, data, fallback, env={"RUST_LOG": "info"}, log_path=os.devnull)
                start(logged)
                r["thumb_logged"] = wrk(logged.url(f"/api/thumbnails/{tid}"), 2, 32, args.secs)["rps"]
                log(f"{b}: thumbnail with the access log on: {r['thumb_logged']:.0f} req/s")
                stop(logged)

            # 10,000 tasks: start-up to the first 200 of one task (the store is loaded and
            # served), to the first 200 of /api/health (which also wants yt-dlp's version),
            # and with yt-dlp and ffmpeg stubbed; then RSS and the list.
            times = {"task": [], "health": [], "stub": []}
            for _ in range(5):
                for kind, extra, path in (("task", [], f"/api/downloads/{tid}"), ("health", [], "/api/health"),
                                          ("stub", stubs, f"/api/downloads/{tid}")):
                    s = Offlinetube(binary, data10k, fallback + extra, ready_path=path,
                                    log_path=os.path.join(work, f"{b}-10k.log"))
                    times[kind].append(start(s))
                    stop(s)
            r["startup"], r["startup_health"], r["startup_stub"] = (
                statistics.median(times[k]) for k in ("task", "health", "stub"))
            log(f"{b}: start-up with {TASKS:,} tasks: " + "; ".join(
                f"{k} {sorted(round(x) for x in v)} ms" for k, v in times.items()))
            big = Offlinetube(binary, data10k, fallback, log_path=os.path.join(work, f"{b}-10k.log"))
            start(big)
            time.sleep(1)
            r["rss_10k_idle"] = rss(big.pid)
            status, body = get(big.port, "/api/downloads", timeout=30)
            r["list_bytes"] = len(body)
            if status != 200 or len(json.loads(body)) != TASKS + 1:
                raise SystemExit(f"bench: /api/downloads answered {status} with {len(body)} bytes")
            r["list"] = wrk(big.url("/api/downloads"), 1, 1, args.secs)
            r["rss_10k_loaded"] = rss(big.pid)
            log(f"{b}: /api/downloads p50 {r['list']['p50']:.1f} ms, p99 {r['list']['p99']:.1f} ms, "
                f"{r['list']['rps']:.1f} req/s; RSS {r['rss_10k_idle']:.1f} → {r['rss_10k_loaded']:.1f} MiB")
            stop(big)
            if args.only == "list":
                continue

            # Real downloads of the large file from nginx, through yt-dlp.
            dl = Offlinetube(binary, data, ["--min-free-mb", "0"] + fallback, log_path=os.path.join(work, f"{b}-dl.log"))
            start(dl)
            r["download"] = download_cpu(dl, ng.url("/large.mp4"), args.downloads)
            stop(dl)
        if args.only == "list":
            return
    finally:
        for s in list(running):
            s.stop()
        shutil.rmtree(work, ignore_errors=True)
    text = report(res, bins, started, args.secs)
    print(text)
    if not args.no_write:
        write_benchmarks(text)


if __name__ == "__main__":
    main()
