#!/usr/bin/python3
"""Side-by-side benchmark: afetch against curl, xargs+curl, aria2c, wget2, aiohttp and wget.

Starts a private nginx (echo module) on 127.0.0.1..127.0.0.50, measures its ceiling with wrk,
then runs every selected workload with every selected tool (the download workload D1 only with
the tools that can save bodies to files, the crawl workload C1 only with the crawlers: afetch,
wget2 and, if installed, wget), several interleaved rounds, and prints one markdown
table on stdout. Progress goes to stderr. Raw results are saved as JSON
under bench/results/; --write-doc regenerates docs/benchmarks.md.

See bench/README.md for the columns, the ratios and the caveats.
"""

import argparse
import datetime
import json
import os
import platform
import random
import re
import resource
import shutil
import signal
import socket
import stat
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
MIB = 1024 * 1024
# Static files nginx serves under /static/ (generated into its prefix): name -> size in bytes.
STATIC_FILES = {"10k": 10 * 1024, "1m": MIB}
# The crawl workload (C1): its generated site under the nginx root, and the link depth every
# crawler is given (the site's tree is floor(log2(pages)) deep: 13 for 10,000 pages).
SITE_DIR = "site"
CRAWL_DEPTH = 20


# --------------------------------------------------------------------------------------------
# Workloads and tools
# --------------------------------------------------------------------------------------------

class Workload:
    """count distinct URLs on /fast/ (or /delay/N/), over `hosts` loopback addresses, at
    concurrency C. With static="1m": a download workload, count distinct URLs
    (/static/1m?i=N) to one static file, every body saved to disk. With crawl=True: a crawl
    workload, a generated site of count linked pages, crawled from one seed (its first
    page) to depth CRAWL_DEPTH; every page must be fetched exactly once."""

    def __init__(self, name, count, concurrency, delay_ms=0, hosts=1, static=None,
                 crawl=False):
        self.name, self.count, self.concurrency = name, count, concurrency
        self.delay_ms, self.hosts, self.static = delay_ms, hosts, static
        self.download = static is not None
        self.crawl = crawl
        self.body_bytes = STATIC_FILES[static] if static else None

    def scaled(self, scale):
        """The same workload with count multiplied by scale (concurrency unchanged)."""
        count = max(10, int(round(self.count * scale)))
        return Workload(self.name, count, self.concurrency, self.delay_ms, self.hosts,
                        self.static, self.crawl)

    def ideal_seconds(self):
        """Lower bound from the server's delay alone: rounds of C requests × delay."""
        if not self.delay_ms:
            return None
        rounds = -(-self.count // self.concurrency)
        return rounds * self.delay_ms / 1000.0

    def url(self, port, i):
        if self.crawl:  # the seed: page 0 of the generated site
            return site_page_url(port, 0)
        host = LOOPBACK_HOSTS[i % self.hosts]
        if self.download:
            path = "/static/%s?i=%d" % (self.static, i)  # distinct URLs, one file
        elif self.delay_ms:
            path = "/delay/%d/%d" % (self.delay_ms, i)
        else:
            path = "/fast/%d" % i
        return "http://%s:%d%s" % (host, port, path)

    def describe(self):
        if self.crawl:
            return "%s: crawl of a %s-page site, depth %d, C=%d" % (
                self.name, "{:,}".format(self.count), CRAWL_DEPTH, self.concurrency)
        if self.download:
            size = ("%g MiB" % (self.body_bytes / MIB) if self.body_bytes >= MIB
                    else "%g KiB" % (self.body_bytes / 1024))
            return "%s: %s × %s bodies saved to disk, C=%d" % (
                self.name, "{:,}".format(self.count), size, self.concurrency)
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
    Workload("D1", 1_000, 50, static="1m"),
    Workload("C1", 10_000, 50, crawl=True),
]
QUICK_WORKLOADS = ["W1", "W2a", "W2b", "W5"]


class Tool:
    """How one peer is run. build(ctx) returns (argv, stdin_path or None) for the W workloads
    (bodies discarded); download(ctx), if the tool can save bodies to files, the same for the
    download workloads (D1); crawl(ctx), if the tool can crawl, the same for the crawl
    workloads (C1). A tool is skipped in the workloads it has no builder for. An optional
    tool whose program is not installed is skipped with a note instead of stopping the run."""

    def __init__(self, name, program, build, multi_process=False, count_outputs=False,
                 download=None, crawl=None, optional=False, note="", crawl_note=""):
        self.name, self.program, self.build = name, program, build
        self.multi_process = multi_process  # peak RSS: sum over the process tree (sampled)
        self.count_outputs = count_outputs  # also check: one output file per URL
        self.download, self.crawl = download, crawl
        self.optional = optional
        self.note, self.crawl_note = note, crawl_note

    def builder(self, workload):
        if workload is not None and workload.crawl:
            return self.crawl
        return self.download if workload is not None and workload.download else self.build


class RunContext:
    """Everything a tool needs to build its command line for one run. For a download
    workload, curl_config names one output file per URL, aria2_list is aria2c's input file
    (URL, then an indented out= line) and output_dir is the directory all tools save into.
    For a crawl workload, urls_file is the seed file (one URL: page 0 of the site) and
    seed_url that URL; output_dir is a scratch directory for the tools that must save pages."""

    def __init__(self, workload, urls_file, curl_config, output_dir, afetch, aria2_list=None,
                 seed_url=None):
        self.workload, self.urls_file, self.curl_config = workload, urls_file, curl_config
        self.output_dir, self.afetch, self.aria2_list = output_dir, afetch, aria2_list
        self.seed_url = seed_url
        self.c = str(workload.concurrency) if workload else "C"
        self.depth = str(CRAWL_DEPTH)


def afetch_command(ctx):
    return [ctx.afetch, "-c", ctx.c, ctx.urls_file], None


def afetch_one_loop_command(ctx):
    # Everything on the main thread: what the default (--threads auto) gains over one loop.
    return [ctx.afetch, "-c", ctx.c, "--threads", "1", ctx.urls_file], None


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


def afetch_download_command(ctx):
    # afetch names the files OUTDIR/127.0.0.1_PORT/static/1m-<hash of the query>.
    return [ctx.afetch, "-c", ctx.c, "-o", ctx.output_dir, ctx.urls_file], None


def aria2c_download_command(ctx):
    # The list gives each URL an "out=fN" name (the URLs share one path). -x 1: one
    # connection per download, as the others. --file-allocation=none as in the W runs (and
    # moot here: aria2c allocates nothing for files under --no-file-allocation-limit, 5M).
    return ["aria2c", "-j", ctx.c, "-x", "1", "--deferred-input=true", "-i", ctx.aria2_list,
            "-d", ctx.output_dir, "--allow-overwrite=true", "--auto-file-renaming=false",
            "--file-allocation=none", "--console-log-level=warn", "--summary-interval=0"], None


def wget2_command(ctx):
    return ["wget2", "-q", "--max-threads", ctx.c, "-O", "/dev/null", "-i", ctx.urls_file], None


def aiohttp_command(ctx):
    return [PYTHON, AIOHTTP_PEER, "-c", ctx.c, ctx.urls_file], None


def afetch_crawl_command(ctx):
    # No --robots: the others are told to ignore robots.txt too. JSON results to /dev/null.
    return [ctx.afetch, "--crawl", "--depth", ctx.depth, "-c", ctx.c, "--scope", "host",
            ctx.urls_file], None


def wget2_crawl_command(ctx):
    # wget2 must save the pages: its --spider mode sends a HEAD per page and a GET for only
    # some of them, and left ~5% of the site unvisited when tried (wget2 1.99.1). So it
    # downloads into a tmpfs scratch dir, removed after the run. Does not span hosts by
    # default.
    return ["wget2", "--recursive", "--level", ctx.depth, "--max-threads", ctx.c,
            "--no-parent", "--robots=off", "-nv", "-P", ctx.output_dir, ctx.seed_url], None


def wget_crawl_command(ctx):
    # Single-threaded. Without --spider for the same reason: wget's --spider sends a HEAD and
    # then a GET for every HTML page (twice the requests).
    return ["wget", "--recursive", "--level", ctx.depth, "--no-parent", "-e", "robots=off",
            "-nv", "-P", ctx.output_dir, ctx.seed_url], None


TOOLS = [
    Tool("afetch", None, afetch_command, download=afetch_download_command,
         crawl=afetch_crawl_command),
    Tool("afetch-1loop", None, afetch_one_loop_command,
         note="afetch --threads 1: one event loop on the main thread. The afetch row is the "
              "default, --threads auto (one loop per core here)."),
    # Downloads: the same command; the config names an output file per URL.
    Tool("curl", "curl", curl_parallel_command, download=curl_parallel_command),
    Tool("xargs-curl", "xargs", xargs_curl_command, multi_process=True,
         note="one curl process, and so one new connection, per URL."),
    Tool("aria2c", "aria2c", aria2c_command, count_outputs=True,
         download=aria2c_download_command,
         note="aria2c cannot discard bodies: in the W workloads it writes one file per URL "
              "into a tmpfs dir."),
    Tool("wget2", "wget2", wget2_command, crawl=wget2_crawl_command,
         crawl_note="wget2 --recursive saves every page (into a tmpfs dir, removed after the "
                    "run): its --spider mode does not crawl the whole site."),
    Tool("aiohttp", PYTHON, aiohttp_command),
    # Crawl only (C1). Not a required dependency: skipped with a note if not installed.
    Tool("wget", "wget", None, crawl=wget_crawl_command, optional=True,
         crawl_note="wget -r is single-threaded (one connection; C does not apply); it saves "
                    "every page into a tmpfs dir, removed after the run (--spider would "
                    "send a HEAD and a GET per page)."),
]


def curl_parallel_cap():
    """curl before 8.16 silently lowers --parallel-max to 300; None if there is no such cap."""
    match = re.match(r"curl (\d+)\.(\d+)", command_output(["curl", "--version"]))
    if match and (int(match.group(1)), int(match.group(2))) < (8, 16):
        return 300
    return None


def tool_command_lines(tools, download=False, crawl=False):
    """Each tool's command as a shell line with placeholders, for the docs; with download
    (crawl), those of the tools that can run the download (crawl) workloads."""
    if crawl:
        ctx = RunContext(None, "seed.txt", None, "OUTDIR", "afetch",
                         seed_url=site_page_url(0, 0).replace(":0/", ":PORT/"))
        pick = lambda t: t.crawl
    elif download:
        ctx = RunContext(None, "urls.txt", "d1.curlrc", "OUTDIR", "afetch", "d1.aria2")
        pick = lambda t: t.download
    else:
        ctx = RunContext(None, "urls.txt", "urls.curlrc", "OUTDIR", "afetch")
        pick = lambda t: t.build
    lines = []
    for tool in [t for t in tools if pick(t)]:
        argv, stdin_path = pick(tool)(ctx)
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
        self.crawl_log = os.path.join(self.prefix, "logs", "crawl.log")  # see nginx.conf.in
        self.html_dir = os.path.join(self.prefix, "html")
        for name, size in STATIC_FILES.items():
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

    def crawl_log_size(self):
        try:
            return os.path.getsize(self.crawl_log)
        except OSError:
            return 0

    def crawl_log_since(self, offset):
        """The crawl log's lines from byte offset on: (address, method, URI, status) each."""
        try:
            with open(self.crawl_log, "rb") as f:
                f.seek(offset)
                data = f.read().decode("latin-1")
        except OSError:
            return []
        return [tuple(line.split(" ", 3)) for line in data.splitlines() if line.count(" ") >= 3]

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

def write_inputs(workload, port, directory, output_dir=None):
    """The URL list and the matching curl -K config, generated once per workload. For a
    download workload also aria2c's input file; curl and aria2c save the body of URL N as
    output_dir/fN (afetch names its files itself). Returns (urls, curl config, aria2 list)."""
    urls_file = os.path.join(directory, workload.name + ".urls.txt")
    curl_config = os.path.join(directory, workload.name + ".curl.cfg")
    aria2_list = os.path.join(directory, workload.name + ".aria2.txt") if output_dir else None
    with open(urls_file, "w") as urls, open(curl_config, "w") as cfg, \
            open(aria2_list or os.devnull, "w") as aria2:
        for i in range(1, workload.count + 1):
            url = workload.url(port, i)
            urls.write(url + "\n")
            output = os.path.join(output_dir, "f%d" % i) if output_dir else "/dev/null"
            cfg.write('url = "%s"\noutput = "%s"\n' % (url, output))
            if output_dir:
                aria2.write("%s\n  out=f%d\n" % (url, i))
    return urls_file, curl_config, aria2_list


# The crawl workload's site: words for the filler text of its pages.
FILLER_WORDS = ("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor "
                "incididunt ut labore et dolore magna aliqua enim ad minim veniam quis nostrud "
                "exercitation ullamco laboris nisi aliquip ex ea commodo consequat").split()


def site_page_url(port, i, host="127.0.0.1"):
    return "http://%s:%d/%s/p%d.html" % (host, port, SITE_DIR, i)


def generate_site(html_dir, port, pages):
    """Writes html_dir/site/p0.html ... p{pages-1}.html, 2-4 KB each. Page i links to pages
    2i+1 and 2i+2 (a binary tree: every page is reachable from p0, depth floor(log2(pages))),
    plus 5 pseudo-random pages (cross links and cycles), a #fragment variant of a local link,
    a mailto: link and two off-site links: http://example.invalid/ (does not resolve) and the
    same site on 127.0.0.2 (resolves, and nginx serves it: the crawl log shows whether a tool
    left its host). Local links mix the forms p7.html, ./p7.html, /site/p7.html and
    http://127.0.0.1:PORT/site/p7.html. Deterministic: page i's choices come from
    random.Random(i). Returns the total size in bytes."""
    site = os.path.join(html_dir, SITE_DIR)
    shutil.rmtree(site, ignore_errors=True)
    os.makedirs(site)
    total = 0
    for i in range(pages):
        rng = random.Random(i)

        def local(j):
            form = rng.randrange(4)
            if form == 0:
                return "p%d.html" % j
            if form == 1:
                return "./p%d.html" % j
            if form == 2:
                return "/%s/p%d.html" % (SITE_DIR, j)
            return site_page_url(port, j)

        children = [j for j in (2 * i + 1, 2 * i + 2) if j < pages]
        cross = [rng.randrange(pages) for _ in range(5)]
        links = ['<li><a href="%s">page %d</a></li>' % (local(j), j) for j in children + cross]
        target = children[0] if children else cross[0]
        extra = ('<p>See also <a href="%s#section-2">section 2 of page %d</a>, '
                 '<a href="mailto:webmaster@example.invalid">the webmaster</a>, '
                 '<a href="http://example.invalid/">another site</a> and '
                 '<a href="%s">a mirror on another host</a>.</p>' % (
                     local(target), target, site_page_url(port, 0, host="127.0.0.2")))
        size = rng.randint(2048, 4096)
        head = ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
                '<title>Page %d</title></head>\n<body>\n<h1>Page %d</h1>\n' % (i, i))
        tail = "<ul>\n%s\n</ul>\n%s\n</body></html>\n" % ("\n".join(links), extra)
        words, length = [], len(head) + len(tail) + len("<p></p>\n")
        while length < size:
            word = rng.choice(FILLER_WORDS)
            words.append(word)
            length += len(word) + 1
        text = head + "<p>" + " ".join(words) + "</p>\n" + tail
        with open(os.path.join(site, "p%d.html" % i), "w") as f:
            f.write(text)
        total += len(text)
    return total


def scratch_dir_for_outputs():
    """tmpfs when there is one, so aria2c's per-URL files cost no disk I/O."""
    base = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    return tempfile.mkdtemp(prefix="afetch-bench-out-", dir=base)


def filesystem_type(path):
    try:
        p = subprocess.run(["findmnt", "-n", "-o", "FSTYPE", "-T", path],
                           capture_output=True, text=True, timeout=10)
        return p.stdout.strip() or "?"
    except (OSError, subprocess.SubprocessError):
        return "?"


def download_base_dir(workdir):
    """Where the download workloads save bodies: a disk, not tmpfs, namely the file system of
    the repository. The run's temp dir when it is on that file system (the usual /tmp on the
    root disk), else a temp dir under bench/results/ (git-ignored). Returns (path, created)."""
    if os.stat(workdir).st_dev == os.stat(REPO_DIR).st_dev:
        return workdir, False
    os.makedirs(RESULTS_DIR, exist_ok=True)
    return tempfile.mkdtemp(prefix="download-scratch-", dir=RESULTS_DIR), True


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
    """Run one tool on one workload; time it, measure its memory, check its request count
    (and for a download workload, the files it saved)."""
    argv, stdin_path = tool.builder(ctx.workload)(ctx)
    stderr_path = os.path.join(log_dir, "%s.%s.stderr" % (ctx.workload.name, tool.name))
    rss_path = os.path.join(log_dir, "%s.%s.maxrss" % (ctx.workload.name, tool.name))
    measured_argv = [GNU_TIME, "-f", "%M", "-o", rss_path] + argv
    os.makedirs(ctx.output_dir, exist_ok=True)
    crawl_log_offset = server.crawl_log_size() if ctx.workload.crawl else None
    try:
        served_before = server.requests_served()
        with open(stdin_path or os.devnull, "rb") as stdin, open(stderr_path, "wb") as stderr:
            wall, exit_code, timed_out, tree_rss = run_measured(
                measured_argv, stdin, stderr, ctx.output_dir, timeout, tool.multi_process)
        served = server.requests_served() - served_before - 1  # minus the 2nd status request
        crawl = None
        if ctx.workload.crawl:
            crawl = crawl_stats(server.crawl_log_since(crawl_log_offset), ctx.workload.count,
                                served)
        full_size = None
        if ctx.workload.download:
            outputs, full_size = count_downloads(ctx.output_dir, ctx.workload.body_bytes)
        else:
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
        # Download workloads: how many of them are regular files of the body's exact size.
        "output_files_full_size": full_size,
        # Crawl workloads: what the crawl log says the tool fetched (see crawl_stats).
        "crawl": crawl,
    }
    record["problem"] = describe_problem(record, stderr_path)
    record["ok"] = record["problem"] is None
    # A run that did not finish is credited with every request nginx saw from it: an upper
    # bound on its real rate.
    record["rps"] = (ctx.workload.count if record["ok"] else served) / wall
    return record


CRAWL_PAGE_RE = re.compile(r"^/%s/p(\d+)\.html$" % SITE_DIR)


def crawl_stats(lines, pages, served):
    """What one crawl run fetched, from nginx's crawl log lines (address, method, URI,
    status) and its request counter: pages = distinct site pages fetched with GET and a 200
    on 127.0.0.1; page_requests = all such requests (more than pages: pages fetched twice);
    robots = requests for /robots.txt; off_host = requests to another address (127.0.0.2:
    the site's off-site link); other = any other logged request (HEAD, errors, paths that
    are not pages); unlogged = requests outside /site/ and /robots.txt (nginx counted them
    but does not log them)."""
    seen = set()
    stats = {"pages": 0, "page_requests": 0, "robots": 0, "off_host": 0, "other": 0,
             "other_examples": []}
    for addr, method, uri, status in lines:
        match = CRAWL_PAGE_RE.match(uri)
        if addr != "127.0.0.1":
            stats["off_host"] += 1
        elif uri == "/robots.txt":
            stats["robots"] += 1
        elif method == "GET" and status == "200" and match and int(match.group(1)) < pages:
            stats["page_requests"] += 1
            seen.add(int(match.group(1)))
            continue
        else:
            stats["other"] += 1
            if len(stats["other_examples"]) < 5:
                stats["other_examples"].append(" ".join((addr, method, uri, status)))
    stats["pages"] = len(seen)
    stats["unlogged"] = served - len(lines)
    return stats


def describe_crawl_problem(record):
    """None if the crawl fetched every page of the site exactly once (a robots.txt request
    is allowed) and nothing else, else the reasons."""
    c, expected, problems = record["crawl"], record["expected"], []
    if c["pages"] != expected:
        problems.append("%d/%d pages fetched" % (c["pages"], expected))
    if c["page_requests"] > c["pages"]:
        problems.append("%d pages fetched twice" % (c["page_requests"] - c["pages"]))
    if c["off_host"]:
        problems.append("%d requests off the host" % c["off_host"])
    if c["other"]:
        problems.append("%d other requests (e.g. %s)" % (c["other"], c["other_examples"][0]))
    if c["unlogged"]:
        problems.append("%d requests outside /site/" % c["unlogged"])
    return "; ".join(problems) or None


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


def count_downloads(directory, size):
    """(entries that are not directories, regular files of exactly size bytes) under
    directory. A complete download run leaves exactly one such file per URL and nothing else
    (no temp or control files, no links)."""
    entries = full = 0
    for root, _, files in os.walk(directory):
        for name in files:
            entries += 1
            try:
                st = os.lstat(os.path.join(root, name))
            except OSError:
                continue
            if stat.S_ISREG(st.st_mode) and st.st_size == size:
                full += 1
    return entries, full


def describe_problem(record, stderr_path):
    """None if the run fetched everything, else a short reason for the table."""
    expected = record["expected"]
    if record["timed_out"]:
        return "timeout"
    if record["exit"] != 0:
        return "exit %d (%s)" % (record["exit"], first_line(stderr_path))
    if record.get("crawl") is not None:
        return describe_crawl_problem(record)
    if record["requests_served"] < expected:
        return "only %d/%d requests reached nginx" % (record["requests_served"], expected)
    if record.get("output_files_full_size") is not None:
        if record["output_files"] != expected or record["output_files_full_size"] != expected:
            return "%d/%d complete files, %d files in all" % (
                record["output_files_full_size"], expected, record["output_files"])
    elif record["output_files"] is not None and record["output_files"] != expected:
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
                if w.download:
                    row["mib_s"] = row["rps"] * w.body_bytes / MIB
                row["rss_bytes"] = statistics.median(peak_rss(r) for r in ok)
                row["max_single_rss_bytes"] = statistics.median(r["max_rss_bytes"] for r in ok)
            elif all(r["timed_out"] for r in runs):  # show the limit and the best rate it
                row["wall_at_least_s"] = min(r["wall_s"] for r in runs)  # could have had
                row["rps_at_most"] = statistics.median(r["rps"] for r in runs)
                if w.download:
                    row["mib_s_at_most"] = row["rps_at_most"] * w.body_bytes / MIB
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


def format_table(summary, workloads, tools, download_dir_note=None, skipped_notes=()):
    """The markdown table, and its notes. With a download workload among the rows, a MiB/s
    column is added (— for the other workloads). skipped_notes: lines about tools that were
    not run (an optional tool that is not installed)."""
    by_name = {w.name: w for w in workloads}
    with_mib = any(by_name[r["workload"]].download for r in summary)
    mib_head, mib_align = ("MiB/s (median) | ", "--:|") if with_mib else ("", "")
    lines = ["| workload | tool | wall s (median) | %sreq/s (median) | peak RSS MiB | "
             "afetch/peer (median) | afetch/peer (min) | runs ok |" % mib_head,
             "|---|---|--:|%s--:|--:|--:|--:|--:|" % mib_align]
    last = None
    for row in summary:
        w = by_name[row["workload"]]
        label = ""
        if row["workload"] != last:
            label = "**%s** %s" % (w.name, w.describe().split(": ", 1)[1])
            if w.ideal_seconds():
                label += " (ideal %.2g s)" % w.ideal_seconds()
            last = row["workload"]
        mib_s = "—"
        if row["ok_runs"]:
            wall, rps = "%.2f" % row["wall_s"], "{:,.0f}".format(row["rps"])
            rss = mib(row["rss_bytes"]) + ("†" if row["tool"] == "xargs-curl" else "")
            if "mib_s" in row:
                mib_s = "{:,.0f}".format(row["mib_s"])
        elif "wall_at_least_s" in row:
            wall = "> %.0f" % row["wall_at_least_s"]
            rps = "≤ {:,.0f}".format(row["rps_at_most"])
            rss = "—"
            if "mib_s_at_most" in row:
                mib_s = "≤ {:,.0f}".format(row["mib_s_at_most"])
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
        cells = [label, row["tool"], wall] + ([mib_s] if with_mib else []) + [
            rps, rss, med, low, runs_ok]
        lines.append("| " + " | ".join(cells) + " |")
    shown = {r["tool"] for r in summary}
    shown_w = {r["tool"] for r in summary
               if not by_name[r["workload"]].download and not by_name[r["workload"]].crawl}
    shown_c = {r["tool"] for r in summary if by_name[r["workload"]].crawl}
    notes = [""]
    if "xargs-curl" in shown:
        notes.append("† xargs-curl: peak of the summed RSS of xargs and its curl processes, "
                     "sampled every 250 ms. Other tools: the process's own peak RSS.")
    notes += ["- %s: %s" % (name, note) for name, note in tool_notes_for(tools).items()
              if name in shown_w]
    notes += ["- %s: %s" % (t.name, t.crawl_note) for t in tools
              if t.crawl_note and t.name in shown_c]
    notes += ["- " + n for n in skipped_notes]
    for w in workloads:
        if w.crawl and any(r["workload"] == w.name for r in summary):
            notes.append("- %s: one seed (page 0), depth %d, robots.txt ignored by every tool; "
                         "req/s = pages/s. A run counts only if nginx's log shows each of the "
                         "%s pages fetched exactly once (GET, 200, on 127.0.0.1) and no other "
                         "request (a robots.txt request would be allowed)." % (
                             w.name, CRAWL_DEPTH, "{:,}".format(w.count)))
        if w.download and any(r["workload"] == w.name for r in summary):
            notes.append("- %s: every tool saves each body into a fresh empty directory%s; a "
                         "run counts only if it holds exactly %s regular files of %s bytes. "
                         "The directory is removed after the run, outside the time. "
                         "Only the tools that save bodies to files run it." % (
                             w.name, " " + download_dir_note if download_dir_note else "",
                             "{:,}".format(w.count), "{:,}".format(w.body_bytes)))
    cap = curl_parallel_cap()
    capped = [w.name for w in workloads if cap and w.concurrency > cap]
    if "curl" in shown and capped:
        notes.append("- curl: this curl (before 8.16) caps --parallel-max at %d, so it ran %s "
                     "at C=%d." % (cap, ", ".join(capped), cap))
    return "\n".join(lines + notes) + "\n"


def tool_notes_for(tools):
    return {t.name: t.note for t in tools if t.note}


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
        "wget": command_output(["wget", "--version"]),
        "python": command_output([PYTHON, "--version"]),
        "aiohttp": command_output([PYTHON, "-c", "import aiohttp; print(aiohttp.__version__)"]),
        "afetch": command_output([afetch, "--version"]),
        "afetch source": "git " + command_output(["git", "-C", REPO_DIR, "describe", "--always",
                                                  "--dirty"]),
    }


def write_doc(report, table, command, tools):
    m = report["machine"]
    commands = "\n".join("- %s: `%s`" % (name, line) for name, line in tool_command_lines(tools))
    downloads = [name for name, w in report["workloads"].items() if w.get("static")]
    crawls = [name for name, w in report["workloads"].items() if w.get("crawl")]
    if downloads:
        commands += ("\n\n%s (bodies saved to OUTDIR; `d1.curlrc` has a `url = \"...\"` and an "
                     "`output = \"OUTDIR/fN\"` line per URL, `d1.aria2` each URL and an indented "
                     "`out=fN` line):\n\n" % ", ".join(downloads))
        commands += "\n".join("- %s: `%s`" % (name, line)
                               for name, line in tool_command_lines(tools, download=True))
    if crawls:
        commands += ("\n\n%s (crawl from `seed.txt`, which holds the one seed URL; OUTDIR is "
                     "a tmpfs scratch dir, removed after each run):\n\n" % ", ".join(crawls))
        commands += "\n".join("- %s: `%s`" % (name, line)
                               for name, line in tool_command_lines(tools, crawl=True))
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
        f.write(text + kept_doc_sections())


def kept_doc_sections():
    """The sections after the generated part (separate runs such as W4, profiles, fuzzing):
    measurements that a regeneration must not lose. They start at the first heading that is
    not one the script writes."""
    try:
        with open(DOC_PATH) as f:
            old = f.read()
    except FileNotFoundError:
        return ""
    generated = ("# Benchmarks", "## Machine", "## Results")
    for start, line in ((m.start(), m.group(0)) for m in re.finditer(r"(?m)^#+ .*$", old)):
        if not line.startswith(generated):
            return "\n" + old[start:]
    return ""


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------

def parse_args():
    env = os.environ.get
    p = argparse.ArgumentParser(description="afetch side-by-side benchmark (see bench/README.md)")
    p.add_argument("--runs", type=int, default=int(env("BENCH_RUNS", "3")),
                   help="interleaved rounds (env BENCH_RUNS, default 3)")
    p.add_argument("--workloads", default=env("BENCH_WORKLOADS", "all"),
                   help="comma list of W1,W2a,W2b,W3,W4,W5,D1,C1, 'all' or 'quick' "
                        "(= W1,W2a,W2b,W5)"
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


def check_prerequisites(afetch, tools, workloads):
    missing = []
    if not os.access(afetch, os.X_OK):
        missing.append("%s (run make)" % afetch)
    elif any(w.download for w in workloads) and "--output-dir" not in subprocess.run(
            [afetch, "--help"], capture_output=True, text=True).stdout:
        missing.append("%s with -o/--output-dir (needed by %s; rebuild it)" % (
            afetch, ",".join(w.name for w in workloads if w.download)))
    elif any(w.crawl for w in workloads) and "--crawl" not in subprocess.run(
            [afetch, "--help"], capture_output=True, text=True).stdout:
        missing.append("%s with --crawl (needed by %s; rebuild it)" % (
            afetch, ",".join(w.name for w in workloads if w.crawl)))
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


def run_workload(w, tools, args, server, workdir, records, download_base):
    # Only the tools with a mode for this workload: downloads (D1) need tools that save
    # bodies to files, crawls (C1) tools that crawl.
    skipped = [t.name for t in tools if not t.builder(w)]
    tools = [t for t in tools if t.builder(w)]
    if skipped:
        log("== %s: skipping %s (no %s mode)" % (
            w.name, ", ".join(skipped),
            "crawl" if w.crawl else "download" if w.download else "URL-list"))
    if not tools:
        return
    seed_url = None
    if w.crawl:
        started = time.monotonic()
        size = generate_site(server.html_dir, server.port, w.count)
        seed_url = w.url(server.port, 0)
        log("== %s: generated %s pages (%.1f MiB) in %.1f s; seed %s" % (
            w.describe(), "{:,}".format(w.count), size / MIB, time.monotonic() - started,
            seed_url))
        urls_file = os.path.join(workdir, w.name + ".seed.txt")
        with open(urls_file, "w") as f:
            f.write(seed_url + "\n")
        curl_config = aria2_list = download_dir = None
    else:
        log("== %s: writing %s URLs" % (w.describe(), "{:,}".format(w.count)))
        # Downloads: one fixed path (curl's config and aria2c's list name files in it),
        # created empty before each run and removed after it.
        download_dir = os.path.join(download_base, w.name + ".out") if w.download else None
        urls_file, curl_config, aria2_list = write_inputs(w, server.port, workdir,
                                                          download_dir)
    log_dir = os.path.join(workdir, "logs")
    os.makedirs(log_dir, exist_ok=True)
    for rnd in range(args.runs):
        shift = rnd % len(tools)
        order = tools[shift:] + tools[:shift]  # rotate: no tool always runs first / last
        for tool in order:
            if not server.alive():
                raise RuntimeError("nginx died:\n" + server.log_tail())
            if download_dir:
                shutil.rmtree(download_dir, ignore_errors=True)
                os.mkdir(download_dir)  # fresh and empty
                output_dir = download_dir
            else:
                output_dir = scratch_dir_for_outputs()
            ctx = RunContext(w, urls_file, curl_config, output_dir, args.afetch, aria2_list,
                             seed_url)
            rec = run_tool_once(tool, ctx, server, args.timeout, log_dir)  # removes output_dir
            rec["round"] = rnd + 1
            records.append(rec)
            extra = ""
            if w.download:
                extra = "  %6.0f MiB/s" % (rec["rps"] * w.body_bytes / MIB)
                os.sync()  # write back what is left now, not during the next tool's run
            if w.crawl:
                c = rec["crawl"] or {}
                extra = "  %s pages, %s requests%s" % (
                    "{:,}".format(c.get("pages", 0)), "{:,}".format(rec["requests_served"]),
                    " (%d robots.txt)" % c["robots"] if c.get("robots") else "")
            log("  round %d %-10s %8.2f s %10s req/s%s  rss %7s MiB  %s" % (
                rnd + 1, tool.name, rec["wall_s"], "{:,.0f}".format(rec["rps"]), extra,
                mib(peak_rss(rec)), rec["problem"] or "ok"))
            time.sleep(0.5)  # let closing connections settle before the next tool
    for path in (urls_file, curl_config, aria2_list):
        if path:
            os.remove(path)


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
    # An optional tool (wget: crawl only) that is not installed is skipped with a note, and
    # dropped silently when no selected workload would run it.
    skipped_notes = []
    for tool in [t for t in tools if t.optional]:
        if not any(tool.builder(w) for w in workloads):
            tools.remove(tool)
        elif not shutil.which(tool.program):
            tools.remove(tool)
            skipped_notes.append("%s: not installed (`%s` not found), skipped." % (
                tool.name, tool.program))
            log("%s is not installed: skipping it" % tool.name)
    args.afetch = os.path.abspath(args.afetch)
    check_prerequisites(args.afetch, tools, workloads)
    raise_open_file_limit()
    signal.signal(signal.SIGTERM, stop_on_signal)
    signal.signal(signal.SIGINT, stop_on_signal)  # also when started with SIGINT ignored

    command = equivalent_command_line(args, workloads, tools)
    workdir = tempfile.mkdtemp(prefix="afetch-bench-")
    args.afetch = freeze_binary(args.afetch, workdir)
    machine = machine_facts(args.afetch)
    server = NginxServer(workdir)
    download_base, download_base_created, download_note = workdir, False, None
    if any(w.download for w in workloads):
        download_base, download_base_created = download_base_dir(workdir)
        fs = filesystem_type(download_base)
        download_note = "%s (%s, the repository's file system%s)" % (
            "under bench/results/" if download_base_created else "in the run's temp dir", fs,
            ", not tmpfs" if fs != "tmpfs" else "; tmpfs here")
        log("downloads go to %s (%s)" % (download_base, fs))
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
            run_workload(w, tools, args, server, workdir, records, download_base)
    except KeyboardInterrupt:  # the running tool was already stopped by run_measured
        interrupted = True
        log("interrupted: stopping")
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
        if download_base_created:
            shutil.rmtree(download_base, ignore_errors=True)
    if interrupted and not records:
        return 130

    done = [w for w in workloads if any(r["workload"] == w.name for r in records)]
    summary = summarize(records, done, tools)
    table = format_table(summary, done, tools, download_note, skipped_notes)
    report = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "config": {"runs": args.runs, "workloads": [w.name for w in workloads],
                   "tools": [t.name for t in tools], "timeout_s": args.timeout,
                   "scale": args.scale, "wrk_seconds": args.wrk_seconds,
                   "interrupted": interrupted, "command": command,
                   "skipped_tools": skipped_notes,
                   "download_dir": download_note},
        "workloads": {w.name: {"count": w.count, "concurrency": w.concurrency,
                               "delay_ms": w.delay_ms, "hosts": w.hosts, "static": w.static,
                               "crawl": w.crawl, "body_bytes": w.body_bytes} for w in workloads},
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
