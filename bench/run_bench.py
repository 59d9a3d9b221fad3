#!/usr/bin/python3
"""Side-by-side benchmark: afetch against curl, xargs+curl, aria2c, wget2 and aiohttp.

Starts a private nginx (echo module) on 127.0.0.1..127.0.0.50, measures its ceiling with wrk,
then runs every selected workload with every selected tool, several interleaved rounds, and
prints one markdown table on stdout. Progress goes to stderr. Raw results are saved as JSON
under bench/results/; --write-doc regenerates docs/benchmarks.md.

See bench/README.md for the columns, the ratios and the caveats.
"""

import argparse
import datetime
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_DIR = os.path.dirname(BENCH_DIR)
RESULTS_DIR = os.path.join(BENCH_DIR, "results")
DOC_PATH = os.path.join(REPO_DIR, "docs", "benchmarks.md")
NGINX_TEMPLATE = os.path.join(BENCH_DIR, "nginx.conf.in")
AIOHTTP_PEER = os.path.join(BENCH_DIR, "peers", "aiohttp_fetch.py")
ECHO_MODULE = "/usr/lib/nginx/modules/ngx_http_echo_module.so"
# GNU time reports the tool's peak RSS. wait4 on a child of this script would not do: Linux
# carries a process's peak RSS across exec, so every tool would start at Python's own size.
GNU_TIME = "/usr/bin/time"
# Debian's python3 has aiohttp; a pyenv python3 earlier on PATH may not.
PYTHON = os.environ.get("BENCH_PYTHON", "/usr/bin/python3")

LOOPBACK_HOSTS = ["127.0.0.%d" % i for i in range(1, 51)]
BODY = "afetch benchmark body: " + "x" * 77  # 100 bytes


# --------------------------------------------------------------------------------------------
# Workloads and tools
# --------------------------------------------------------------------------------------------

class Workload:
    """count distinct URLs on /fast/ (or /delay/N/), over `hosts` loopback addresses, at
    concurrency C."""

    def __init__(self, name, count, concurrency, delay_ms=0, hosts=1):
        self.name, self.count, self.concurrency = name, count, concurrency
        self.delay_ms, self.hosts = delay_ms, hosts

    def scaled(self, scale):
        """The same workload with count multiplied by scale (concurrency unchanged)."""
        count = max(10, int(round(self.count * scale)))
        return Workload(self.name, count, self.concurrency, self.delay_ms, self.hosts)

    def ideal_seconds(self):
        """Lower bound from the server's delay alone: rounds of C requests × delay."""
        if not self.delay_ms:
            return None
        rounds = -(-self.count // self.concurrency)
        return rounds * self.delay_ms / 1000.0

    def url(self, port, i):
        host = LOOPBACK_HOSTS[i % self.hosts]
        path = "/delay/%d/%d" % (self.delay_ms, i) if self.delay_ms else "/fast/%d" % i
        return "http://%s:%d%s" % (host, port, path)

    def describe(self):
        what = "delay %d ms" % self.delay_ms if self.delay_ms else "fast"
        hosts = ", %d hosts" % self.hosts if self.hosts > 1 else ""
        return "%s: %s × %s, C=%d%s" % (self.name, "{:,}".format(self.count), what,
                                        self.concurrency, hosts)


WORKLOADS = [
    Workload("W1", 10_000, 50),
    Workload("W2a", 10_000, 100, delay_ms=50),
    Workload("W2b", 10_000, 1000, delay_ms=50),
    Workload("W3", 100_000, 100),
    Workload("W4", 1_000_000, 100),
    Workload("W5", 10_000, 100, hosts=50),
]
QUICK_WORKLOADS = ["W1", "W2a", "W2b", "W5"]


class Tool:
    """How one peer is run. build(ctx) returns (argv, stdin_path or None)."""

    def __init__(self, name, program, build, multi_process=False, count_outputs=False,
                 note=""):
        self.name, self.program, self.build = name, program, build
        self.multi_process = multi_process  # peak RSS: sum over the process tree (sampled)
        self.count_outputs = count_outputs  # also check: one output file per URL
        self.note = note


class RunContext:
    """Everything a tool needs to build its command line for one run."""

    def __init__(self, workload, urls_file, curl_config, output_dir, afetch):
        self.workload, self.urls_file, self.curl_config = workload, urls_file, curl_config
        self.output_dir, self.afetch = output_dir, afetch
        self.c = str(workload.concurrency) if workload else "C"


def afetch_command(ctx):
    return [ctx.afetch, "-c", ctx.c, ctx.urls_file], None


def afetch_threads_command(ctx):
    # One event loop per core, sharing -c.
    return [ctx.afetch, "-c", ctx.c, "--threads", str(os.cpu_count() or 1), ctx.urls_file], None


def curl_parallel_command(ctx):
    # --parallel-immediate: open connections at once instead of first waiting to learn
    # whether one can multiplex (it cannot: plain HTTP/1.1).
    return ["curl", "-s", "--parallel", "--parallel-immediate", "--parallel-max", ctx.c,
            "-K", ctx.curl_config], None


def xargs_curl_command(ctx):
    return ["xargs", "-P", ctx.c, "-n", "1", "curl", "-s", "-o", "/dev/null"], ctx.urls_file


def aria2c_command(ctx):
    return ["aria2c", "-q", "-j", ctx.c, "--deferred-input=true", "-i", ctx.urls_file,
            "-d", ctx.output_dir, "--allow-overwrite=true", "--auto-file-renaming=false",
            "--file-allocation=none", "--max-connection-per-server=1"], None


def wget2_command(ctx):
    return ["wget2", "-q", "--max-threads", ctx.c, "-O", "/dev/null", "-i", ctx.urls_file], None


def aiohttp_command(ctx):
    return [PYTHON, AIOHTTP_PEER, "-c", ctx.c, ctx.urls_file], None


TOOLS = [
    Tool("afetch", None, afetch_command),
    Tool("afetch-threads", None, afetch_threads_command,
         note="afetch --threads N with N = the number of cores."),
    Tool("curl", "curl", curl_parallel_command),
    Tool("xargs-curl", "xargs", xargs_curl_command, multi_process=True,
         note="one curl process, and so one new connection, per URL."),
    Tool("aria2c", "aria2c", aria2c_command, count_outputs=True,
         note="aria2c cannot discard bodies: it writes one file per URL into a tmpfs dir."),
    Tool("wget2", "wget2", wget2_command),
    Tool("aiohttp", PYTHON, aiohttp_command),
]


def curl_parallel_cap():
    """curl before 8.16 silently lowers --parallel-max to 300; None if there is no such cap."""
    match = re.match(r"curl (\d+)\.(\d+)", command_output(["curl", "--version"]))
    if match and (int(match.group(1)), int(match.group(2))) < (8, 16):
        return 300
    return None


def tool_command_lines(tools):
    """Each tool's command as a shell line with placeholders, for the docs."""
    ctx = RunContext(None, "urls.txt", "urls.curlrc", "OUTDIR", "afetch")
    lines = []
    for tool in tools:
        argv, stdin_path = tool.build(ctx)
        argv = ["python3" if a == PYTHON else a for a in argv]
        argv = ["bench/peers/aiohttp_fetch.py" if a == AIOHTTP_PEER else a for a in argv]
        line = " ".join(argv) + (" < " + stdin_path if stdin_path else "")
        lines.append((tool.name, line + " > /dev/null"))
    return lines


# --------------------------------------------------------------------------------------------
# The nginx target server
# --------------------------------------------------------------------------------------------

def port_is_free_everywhere(port):
    """True if port can be bound on all 50 loopback addresses."""
    for host in LOOPBACK_HOSTS:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind((host, port))
        except OSError:
            return False
        finally:
            s.close()
    return True


def pick_free_port():
    for _ in range(50):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        if port_is_free_everywhere(port):
            return port
    raise RuntimeError("no port free on all of 127.0.0.1-50")


class NginxServer:
    """A private nginx: own prefix, generated config, child process, stopped by PID."""

    def __init__(self, workdir):
        self.prefix = os.path.join(workdir, "nginx")
        self.process = None
        self.port = None

    def start(self):
        self._prepare_prefix()
        for attempt in range(5):  # another process may grab the port between pick and bind
            self.port = pick_free_port()
            self._write_config()
            self.process = subprocess.Popen(
                ["nginx", "-p", self.prefix, "-c", self.conf_path, "-e", self.error_log],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if self._wait_until_ready():
                return
            self.stop()
        raise RuntimeError("nginx did not start; see " + self.error_log + ":\n" + self.log_tail())

    def _prepare_prefix(self):
        for sub in ("logs", "tmp", "html/static"):
            os.makedirs(os.path.join(self.prefix, sub), exist_ok=True)
        self.conf_path = os.path.join(self.prefix, "nginx.conf")
        self.error_log = os.path.join(self.prefix, "logs", "error.log")
        for name, size in (("10k", 10 * 1024), ("1m", 1024 * 1024)):
            with open(os.path.join(self.prefix, "html", "static", name), "wb") as f:
                f.write(b"a" * size)

    def _write_config(self):
        nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        listen = "\n".join("        listen %s:%d backlog=65535;" % (h, self.port)
                           for h in LOOPBACK_HOSTS)
        with open(NGINX_TEMPLATE) as f:
            conf = f.read()
        for key, value in (("@ECHO_MODULE@", ECHO_MODULE), ("@PREFIX@", self.prefix),
                           ("@LISTEN@", listen), ("@BODY@", BODY),
                           ("worker_rlimit_nofile 65536", "worker_rlimit_nofile %d" % nofile)):
            conf = conf.replace(key, value)
        with open(self.conf_path, "w") as f:
            f.write(conf)

    def _wait_until_ready(self):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                self.requests_served()
                return True
            except OSError:
                time.sleep(0.05)
        return False

    def alive(self):
        return self.process is not None and self.process.poll() is None

    def requests_served(self):
        """nginx's total request counter (stub_status), this status request included."""
        url = "http://127.0.0.1:%d/nginx_status" % self.port
        with urllib.request.urlopen(url, timeout=5) as response:
            text = response.read().decode()
        # "Active connections: 1 \nserver accepts handled requests\n 5 5 7 \n..."
        return int(text.splitlines()[2].split()[2])

    def log_tail(self, lines=20):
        try:
            with open(self.error_log) as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""

    def stop(self):
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)  # graceful; TERM/KILL if it lingers
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


def measure_ceiling(server, seconds):
    """wrk -t1 -c100 on /fast/: the requests/s the server can give one client core."""
    out = subprocess.run(["wrk", "-t1", "-c100", "-d%ds" % seconds,
                          "http://127.0.0.1:%d/fast/wrk" % server.port],
                         capture_output=True, text=True, check=True).stdout
    match = re.search(r"Requests/sec:\s*([\d.]+)", out)
    return float(match.group(1)) if match else None


# --------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------

def write_inputs(workload, port, directory):
    """The URL list and the matching curl -K config, generated once per workload."""
    urls_file = os.path.join(directory, workload.name + ".urls.txt")
    curl_config = os.path.join(directory, workload.name + ".curl.cfg")
    with open(urls_file, "w") as urls, open(curl_config, "w") as cfg:
        for i in range(1, workload.count + 1):
            url = workload.url(port, i)
            urls.write(url + "\n")
            cfg.write('url = "%s"\noutput = "/dev/null"\n' % url)
    return urls_file, curl_config


def scratch_dir_for_outputs():
    """tmpfs when there is one, so aria2c's per-URL files cost no disk I/O."""
    base = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    return tempfile.mkdtemp(prefix="afetch-bench-out-", dir=base)


# --------------------------------------------------------------------------------------------
# Running one tool once
# --------------------------------------------------------------------------------------------

def process_tree_rss_bytes(root_pid):
    """Sum of resident memory over root_pid and all its descendants (from /proc)."""
    page = os.sysconf("SC_PAGE_SIZE")
    total, stack = 0, [root_pid]
    while stack:
        pid = stack.pop()
        try:
            with open("/proc/%d/statm" % pid) as f:
                total += int(f.read().split()[1]) * page
            with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
                stack.extend(int(p) for p in f.read().split())
        except (OSError, ValueError):
            pass
    return total


class TreeRssSampler(threading.Thread):
    """Samples the summed RSS of a process tree every interval seconds; keeps the peak."""

    def __init__(self, pid, interval=0.25):
        super().__init__(daemon=True)
        self.pid, self.interval, self.peak = pid, interval, 0
        self.done = threading.Event()

    def run(self):
        while not self.done.wait(self.interval):
            self.peak = max(self.peak, process_tree_rss_bytes(self.pid))


def kill_process_group(pid, grace=2.0):
    """Stop a tool and everything it spawned (it runs in its own session): TERM, then KILL."""
    try:
        os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            time.sleep(0.05)
            os.killpg(pid, 0)  # raises once the whole group is gone
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def run_measured(argv, stdin, stderr, cwd, timeout, sample_tree):
    """Run argv in its own session; return (wall s, exit code, timed out?, tree RSS peak).

    A timer kills the whole group after timeout seconds. If this script is interrupted
    (Ctrl-C, SIGTERM, an error) while waiting, the group is killed before re-raising."""
    started = time.monotonic()
    process = subprocess.Popen(argv, stdin=stdin, stdout=subprocess.DEVNULL, stderr=stderr,
                               cwd=cwd, start_new_session=True)
    timed_out = threading.Event()

    def on_timeout():
        timed_out.set()
        kill_process_group(process.pid)

    timer = threading.Timer(timeout, on_timeout)
    timer.daemon = True
    timer.start()
    sampler = TreeRssSampler(process.pid) if sample_tree else None
    if sampler:
        sampler.start()
    try:
        _, status, _ = os.wait4(process.pid, 0)
        wall = time.monotonic() - started
        process.returncode = os.waitstatus_to_exitcode(status)
    finally:
        timer.cancel()
        if sampler:
            sampler.done.set()
        if process.returncode is None:
            kill_process_group(process.pid, grace=1.0)
            process.wait()
    timer.join()  # if it fired, let it finish killing the rest of the group
    return wall, process.returncode, timed_out.is_set(), sampler.peak if sampler else None


def run_tool_once(tool, ctx, server, timeout, log_dir):
    """Run one tool on one workload; time it, measure its memory, check its request count."""
    argv, stdin_path = tool.build(ctx)
    stderr_path = os.path.join(log_dir, "%s.%s.stderr" % (ctx.workload.name, tool.name))
    rss_path = os.path.join(log_dir, "%s.%s.maxrss" % (ctx.workload.name, tool.name))
    measured_argv = [GNU_TIME, "-f", "%M", "-o", rss_path] + argv
    os.makedirs(ctx.output_dir, exist_ok=True)
    try:
        served_before = server.requests_served()
        with open(stdin_path or os.devnull, "rb") as stdin, open(stderr_path, "wb") as stderr:
            wall, exit_code, timed_out, tree_rss = run_measured(
                measured_argv, stdin, stderr, ctx.output_dir, timeout, tool.multi_process)
        served = server.requests_served() - served_before - 1  # minus the 2nd status request
        outputs = count_output_files(ctx.output_dir) if tool.count_outputs else None
    finally:
        shutil.rmtree(ctx.output_dir, ignore_errors=True)

    record = {
        "workload": ctx.workload.name, "tool": tool.name, "argv": argv,
        "stdin": stdin_path, "wall_s": wall, "exit": exit_code, "timed_out": timed_out,
        "requests_served": served, "expected": ctx.workload.count,
        # The largest single process (GNU time's %M covers the tool and its reaped children).
        "max_rss_bytes": read_gnu_time_maxrss(rss_path) * 1024,
        "tree_rss_bytes": tree_rss,
        "output_files": outputs,
    }
    record["problem"] = describe_problem(record, stderr_path)
    record["ok"] = record["problem"] is None
    # A run that did not finish is credited with every request nginx saw from it: an upper
    # bound on its real rate.
    record["rps"] = (ctx.workload.count if record["ok"] else served) / wall
    return record


def read_gnu_time_maxrss(path):
    """GNU time -f %M writes the peak RSS in KiB on its last line (0 if unknown)."""
    try:
        with open(path) as f:
            return int(f.read().split()[-1])
    except (OSError, ValueError, IndexError):
        return 0


def count_output_files(directory):
    n = 0
    for _, _, files in os.walk(directory):
        n += sum(1 for f in files if not f.endswith(".aria2"))
    return n


def describe_problem(record, stderr_path):
    """None if the run fetched everything, else a short reason for the table."""
    expected = record["expected"]
    if record["timed_out"]:
        return "timeout"
    if record["exit"] != 0:
        return "exit %d (%s)" % (record["exit"], first_line(stderr_path))
    if record["requests_served"] < expected:
        return "only %d/%d requests reached nginx" % (record["requests_served"], expected)
    if record["output_files"] is not None and record["output_files"] != expected:
        return "%d/%d files written" % (record["output_files"], expected)
    return None


def first_line(path):
    try:
        with open(path, errors="replace") as f:
            return f.readline().strip()[:80]
    except OSError:
        return ""


# --------------------------------------------------------------------------------------------
# Summaries and report
# --------------------------------------------------------------------------------------------

def summarize(records, workloads, tools):
    """Per workload and tool: medians over the ok runs, and afetch/peer ratios per round."""
    summary = []
    for w in workloads:
        afetch_by_round = {r["round"]: r for r in records
                           if r["workload"] == w.name and r["tool"] == "afetch"}
        for tool in tools:
            runs = [r for r in records if r["workload"] == w.name and r["tool"] == tool.name]
            if not runs:
                continue
            ok = [r for r in runs if r["ok"]]
            row = {"workload": w.name, "tool": tool.name, "runs": len(runs), "ok_runs": len(ok),
                   "problems": sorted({r["problem"] for r in runs if r["problem"]})}
            if ok:
                row["wall_s"] = statistics.median(r["wall_s"] for r in ok)
                row["rps"] = statistics.median(r["rps"] for r in ok)
                row["rss_bytes"] = statistics.median(peak_rss(r) for r in ok)
                row["max_single_rss_bytes"] = statistics.median(r["max_rss_bytes"] for r in ok)
            elif all(r["timed_out"] for r in runs):  # show the limit and the best rate it
                row["wall_at_least_s"] = min(r["wall_s"] for r in runs)  # could have had
                row["rps_at_most"] = statistics.median(r["rps"] for r in runs)
            row["ratios"], row["ratio_is_lower_bound"] = ratios_per_round(runs, afetch_by_round)
            summary.append(row)
    return summary


def peak_rss(record):
    return record["tree_rss_bytes"] or record["max_rss_bytes"]


def ratios_per_round(peer_runs, afetch_by_round):
    """afetch rps ÷ peer rps, per round where afetch succeeded. A peer that timed out is
    credited with every request nginx saw from it, so its ratio is a lower bound; a peer that
    failed otherwise has no ratio for that round."""
    ratios, lower_bound = [], False
    for run in peer_runs:
        a = afetch_by_round.get(run["round"])
        usable = run["ok"] or run["timed_out"]
        if not a or not a["ok"] or not usable or run["rps"] <= 0:
            continue
        ratios.append(a["rps"] / run["rps"])
        lower_bound |= run["timed_out"]
    return ratios, lower_bound


def mib(n):
    return "%.1f" % (n / 1048576.0)


def format_table(summary, workloads, tools):
    tool_notes = {t.name: t.note for t in tools if t.note}
    lines = ["| workload | tool | wall s (median) | req/s (median) | peak RSS MiB | "
             "afetch/peer (median) | afetch/peer (min) | runs ok |",
             "|---|---|--:|--:|--:|--:|--:|--:|"]
    by_name = {w.name: w for w in workloads}
    last = None
    for row in summary:
        w = by_name[row["workload"]]
        label = ""
        if row["workload"] != last:
            label = "**%s** %s" % (w.name, w.describe().split(": ", 1)[1])
            if w.ideal_seconds():
                label += " (ideal %.2g s)" % w.ideal_seconds()
            last = row["workload"]
        if row["ok_runs"]:
            wall, rps = "%.2f" % row["wall_s"], "{:,.0f}".format(row["rps"])
            rss = mib(row["rss_bytes"]) + ("†" if row["tool"] == "xargs-curl" else "")
        elif "wall_at_least_s" in row:
            wall = "> %.0f" % row["wall_at_least_s"]
            rps = "≤ {:,.0f}".format(row["rps_at_most"])
            rss = "—"
        else:
            wall = rps = rss = "—"
        if row["tool"] == "afetch":
            med = low = "1.00"
        elif row["ratios"]:
            prefix = "≥ " if row["ratio_is_lower_bound"] else ""
            med = prefix + "%.2f" % statistics.median(row["ratios"])
            low = prefix + "%.2f" % min(row["ratios"])
        else:
            med = low = "—"
        runs_ok = "%d/%d" % (row["ok_runs"], row["runs"])
        if row["problems"]:
            runs_ok += " ⚠ " + "; ".join(row["problems"])
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
            label, row["tool"], wall, rps, rss, med, low, runs_ok))
    shown = {r["tool"] for r in summary}
    notes = [""]
    if "xargs-curl" in shown:
        notes.append("† xargs-curl: peak of the summed RSS of xargs and its curl processes, "
                     "sampled every 250 ms. Other tools: the process's own peak RSS.")
    notes += ["- %s: %s" % (name, note) for name, note in tool_notes.items() if name in shown]
    cap = curl_parallel_cap()
    capped = [w.name for w in workloads if cap and w.concurrency > cap]
    if "curl" in shown and capped:
        notes.append("- curl: this curl (before 8.16) caps --parallel-max at %d, so it ran %s "
                     "at C=%d." % (cap, ", ".join(capped), cap))
    return "\n".join(lines + notes) + "\n"


# --------------------------------------------------------------------------------------------
# Machine facts and the docs page
# --------------------------------------------------------------------------------------------

def command_output(argv, stderr=False):
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=10)
        text = (p.stderr if stderr else p.stdout) or p.stdout or p.stderr
        return text.strip().splitlines()[0] if text.strip() else "?"
    except (OSError, subprocess.SubprocessError):
        return "not found"


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def memory_total():
    try:
        with open("/proc/meminfo") as f:
            kib = int(f.readline().split()[1])
        return "%.1f GiB" % (kib / 1048576.0)
    except (OSError, ValueError, IndexError):
        return "?"


def machine_facts(afetch):
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu_model(),
        "memory": memory_total(),
        "kernel": platform.release(),
        "nginx": command_output(["nginx", "-v"], stderr=True),
        "wrk": command_output(["wrk", "--version"]).split(" Copyright")[0],
        "curl": command_output(["curl", "--version"]),
        "aria2c": command_output(["aria2c", "--version"]),
        "wget2": command_output(["wget2", "--version"]),
        "python": command_output([PYTHON, "--version"]),
        "aiohttp": command_output([PYTHON, "-c", "import aiohttp; print(aiohttp.__version__)"]),
        "afetch": command_output([afetch, "--version"]),
        "afetch source": "git " + command_output(["git", "-C", REPO_DIR, "describe", "--always",
                                                  "--dirty"]),
    }


def write_doc(report, table, command, tools):
    m = report["machine"]
    commands = "\n".join("- %s: `%s`" % (name, line) for name, line in tool_command_lines(tools))
    facts = "\n".join("| %s | %s |" % (k, str(v).replace("|", "\\|")) for k, v in m.items())
    ceiling = report["ceiling_rps"]
    text = """# Benchmarks

<!-- Generated by bench/run_bench.py --write-doc; edit the script, not this file. -->

afetch against common ways of fetching many URLs, on one machine, against a local nginx.
How to run it and how to read the columns: [bench/README.md](../bench/README.md).

- Date: {date}
- Command: `{command}`
- Rounds: {runs} interleaved (round 1 runs every tool, then round 2, ...; the order rotates)
- Scale: {scale}{scale_note}
- Server ceiling (`wrk -t1 -c100 -d{wrk_s}s` on `/fast/`): **{ceiling} req/s** — no client
  can go faster than this on this machine; the fast workloads are bounded by it.

## Machine

| fact | value |
|---|---|
{facts}

## Results

{table}
How each tool was run (C is the workload's concurrency; `urls.curlrc` has a `url = "..."` and
an `output = "/dev/null"` line per URL):

{commands}

Ratios are afetch's requests/s divided by the peer's, per round; above 1 afetch was faster.
""".format(date=report["date"], command=command, runs=report["config"]["runs"],
           scale=report["config"]["scale"],
           scale_note="" if report["config"]["scale"] == 1 else " (reduced: not the full sizes)",
           wrk_s=report["config"]["wrk_seconds"],
           ceiling="{:,.0f}".format(ceiling) if ceiling else "?", facts=facts, table=table,
           commands=commands)
    with open(DOC_PATH, "w") as f:
        f.write(text)


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------

def parse_args():
    env = os.environ.get
    p = argparse.ArgumentParser(description="afetch side-by-side benchmark (see bench/README.md)")
    p.add_argument("--runs", type=int, default=int(env("BENCH_RUNS", "3")),
                   help="interleaved rounds (env BENCH_RUNS, default 3)")
    p.add_argument("--workloads", default=env("BENCH_WORKLOADS", "all"),
                   help="comma list of W1,W2a,W2b,W3,W4,W5, 'all' or 'quick' (= W1,W2a,W2b,W5)"
                        " (env BENCH_WORKLOADS, default all)")
    p.add_argument("--tools", default=env("BENCH_TOOLS", "all"),
                   help="comma list of " + ",".join(t.name for t in TOOLS) +
                        " (env BENCH_TOOLS, default all; afetch is always included)")
    p.add_argument("--timeout", type=float, default=float(env("BENCH_TIMEOUT", "300")),
                   help="per-run time limit in seconds (env BENCH_TIMEOUT, default 300)")
    p.add_argument("--scale", type=float, default=float(env("BENCH_SCALE", "1")),
                   help="multiply every URL count, e.g. 0.01 for a quick check "
                        "(env BENCH_SCALE, default 1)")
    p.add_argument("--wrk-seconds", type=int, default=int(env("BENCH_WRK_SECONDS", "5")),
                   help="duration of the wrk ceiling measurement (default 5)")
    p.add_argument("--afetch", default=env("AFETCH_BIN", os.path.join(REPO_DIR, "afetch")),
                   help="the afetch binary (env AFETCH_BIN, default ./afetch)")
    p.add_argument("--write-doc", action="store_true",
                   default=env("BENCH_WRITE_DOC", "") not in ("", "0"),
                   help="regenerate docs/benchmarks.md (env BENCH_WRITE_DOC=1)")
    return p.parse_args()


def select(names, available, what, presets):
    if names in presets:
        names = presets[names]
    wanted = [n.strip() for n in names.split(",") if n.strip()]
    by_name = {x.name.lower(): x for x in available}
    unknown = [n for n in wanted if n.lower() not in by_name]
    if unknown:
        sys.exit("unknown %s: %s (known: %s)" % (what, ", ".join(unknown),
                                                  ", ".join(x.name for x in available)))
    chosen = {n.lower() for n in wanted}
    return [x for x in available if x.name.lower() in chosen]  # keep the canonical order


def check_prerequisites(afetch, tools):
    missing = []
    if not os.access(afetch, os.X_OK):
        missing.append("%s (run make)" % afetch)
    need = {"nginx", "wrk"} | {t.program for t in tools if t.program}
    if any(t.name == "xargs-curl" for t in tools):
        need.add("curl")
    missing += [n for n in sorted(need) if not (shutil.which(n) or os.access(n, os.X_OK))]
    if not os.access(GNU_TIME, os.X_OK):
        missing.append(GNU_TIME + " (apt-get install time)")
    if not os.path.exists(ECHO_MODULE):
        missing.append(ECHO_MODULE + " (apt-get install libnginx-mod-http-echo)")
    if missing:
        sys.exit("missing: " + ", ".join(missing))


def raise_open_file_limit():
    """Children inherit this: C=1000 needs more than the usual 1024 descriptors."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def run_workload(w, tools, args, server, workdir, records):
    log("== %s: writing %s URLs" % (w.describe(), "{:,}".format(w.count)))
    urls_file, curl_config = write_inputs(w, server.port, workdir)
    log_dir = os.path.join(workdir, "logs")
    os.makedirs(log_dir, exist_ok=True)
    for rnd in range(args.runs):
        shift = rnd % len(tools)
        order = tools[shift:] + tools[:shift]  # rotate: no tool always runs first / last
        for tool in order:
            if not server.alive():
                raise RuntimeError("nginx died:\n" + server.log_tail())
            output_dir = scratch_dir_for_outputs()
            ctx = RunContext(w, urls_file, curl_config, output_dir, args.afetch)
            rec = run_tool_once(tool, ctx, server, args.timeout, log_dir)
            rec["round"] = rnd + 1
            records.append(rec)
            log("  round %d %-10s %8.2f s %10s req/s  rss %7s MiB  %s" % (
                rnd + 1, tool.name, rec["wall_s"], "{:,.0f}".format(rec["rps"]),
                mib(peak_rss(rec)), rec["problem"] or "ok"))
            time.sleep(0.5)  # let closing connections settle before the next tool
    os.remove(urls_file)
    os.remove(curl_config)


def freeze_binary(path, workdir):
    """Run a private copy, so that a rebuild of ./afetch during the benchmark changes nothing."""
    copy = os.path.join(workdir, "afetch")
    shutil.copy2(path, copy)
    return copy


def equivalent_command_line(args, workloads, tools):
    """The options in effect, whether they came from flags or BENCH_* variables."""
    return ("bench/run_bench.py --runs %d --workloads %s --tools %s --timeout %g --scale %g"
            % (args.runs, ",".join(w.name for w in workloads),
               ",".join(t.name for t in tools), args.timeout, args.scale))


def stop_on_signal(signum, frame):
    raise KeyboardInterrupt


def main():
    args = parse_args()
    workloads = select(args.workloads, WORKLOADS, "workload",
                       {"all": ",".join(w.name for w in WORKLOADS),
                        "quick": ",".join(QUICK_WORKLOADS)})
    tools = select(args.tools, TOOLS, "tool", {"all": ",".join(t.name for t in TOOLS)})
    if tools[0].name != "afetch":  # the ratios need afetch in every round
        tools.insert(0, TOOLS[0])
    workloads = [w.scaled(args.scale) for w in workloads] if args.scale != 1 else workloads
    args.afetch = os.path.abspath(args.afetch)
    check_prerequisites(args.afetch, tools)
    raise_open_file_limit()
    signal.signal(signal.SIGTERM, stop_on_signal)
    signal.signal(signal.SIGINT, stop_on_signal)  # also when started with SIGINT ignored

    command = equivalent_command_line(args, workloads, tools)
    workdir = tempfile.mkdtemp(prefix="afetch-bench-")
    args.afetch = freeze_binary(args.afetch, workdir)
    machine = machine_facts(args.afetch)
    server = NginxServer(workdir)
    records = []
    ceiling = None
    interrupted = False
    try:
        server.start()
        log("nginx pid %d on 127.0.0.1-50:%d (prefix %s)" % (
            server.process.pid, server.port, server.prefix))
        ceiling = measure_ceiling(server, args.wrk_seconds)
        log("server ceiling (wrk -t1 -c100 -d%ds /fast/): %s req/s" % (
            args.wrk_seconds, "{:,.0f}".format(ceiling) if ceiling else "?"))
        for w in workloads:
            run_workload(w, tools, args, server, workdir, records)
    except KeyboardInterrupt:  # the running tool was already stopped by run_measured
        interrupted = True
        log("interrupted: stopping")
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    if interrupted and not records:
        return 130

    done = [w for w in workloads if any(r["workload"] == w.name for r in records)]
    summary = summarize(records, done, tools)
    table = format_table(summary, done, tools)
    report = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "config": {"runs": args.runs, "workloads": [w.name for w in workloads],
                   "tools": [t.name for t in tools], "timeout_s": args.timeout,
                   "scale": args.scale, "wrk_seconds": args.wrk_seconds,
                   "interrupted": interrupted, "command": command},
        "workloads": {w.name: {"count": w.count, "concurrency": w.concurrency,
                               "delay_ms": w.delay_ms, "hosts": w.hosts} for w in workloads},
        "machine": machine,
        "ceiling_rps": ceiling,
        "runs": records,
        "summary": summary,
    }
    os.makedirs(RESULTS_DIR, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    json_path = os.path.join(RESULTS_DIR, "bench-%s.json" % stamp)
    with open(json_path, "w") as f:
        json.dump(report, f, indent=1)
    log("raw results: " + os.path.relpath(json_path, REPO_DIR))

    ceiling_line = "Server ceiling (wrk -t1 -c100 /fast/): %s req/s\n\n" % (
        "{:,.0f}".format(report["ceiling_rps"]) if report["ceiling_rps"] else "?")
    sys.stdout.write(ceiling_line + table)
    if args.write_doc and not interrupted:
        write_doc(report, table, command, tools)
        log("wrote " + os.path.relpath(DOC_PATH, REPO_DIR))
    if interrupted:
        return 130
    # Peers that time out or fail are results, shown in the table; afetch failing is an error.
    return 0 if all(r["ok"] for r in records if r["tool"] == "afetch") else 1


if __name__ == "__main__":
    sys.exit(main())
