#!/usr/bin/python3
"""C2: a real site. Crawls Python's HTML documentation as Debian's python3-doc ships it, served
by a private nginx on 127.0.0.1, with afetch and with wget2 side by side, in interleaved rounds;
prints one markdown table of medians: wall time, pages/s, user and system CPU, peak RSS.

A run counts only if nginx's access log shows each HTML page fetched once, with a 200, and none
outside the tree; afetch's and wget2's sets of HTML pages must be equal (a few pages of the tree
are linked from nowhere: neither fetches them).
(wget2 -r also fetches images and scripts, which afetch fetches only with -p: only the pages are
compared.) Skipped, with a note, when python3-doc or wget2 is missing. See bench/README.md."""

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

REPO_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOC_CANDIDATES = ("/usr/share/doc/python3/html", "/usr/share/doc/python3-doc/html")
GNU_TIME = "/usr/bin/time"

NGINX_CONF = """daemon off;
master_process off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ use epoll; worker_connections 4096; }}
http {{
    include /etc/nginx/mime.types;
    log_format crawl '$request_method $request_uri $status';
    access_log {prefix}/access.log crawl;
    client_body_temp_path {prefix}/tmp; proxy_temp_path {prefix}/tmp;
    fastcgi_temp_path {prefix}/tmp; uwsgi_temp_path {prefix}/tmp; scgi_temp_path {prefix}/tmp;
    sendfile on;
    keepalive_requests 100000000;
    keepalive_timeout 600s;
    open_file_cache max=4000 inactive=600s;
    server_tokens off;
    server {{
        listen 127.0.0.1:{port};
        location /doc/ {{ alias {docs}/; }}
    }}
}}
"""


def doc_tree():
    for candidate in DOC_CANDIDATES:
        if os.path.isdir(candidate):
            return os.path.realpath(candidate)
    return None


def html_pages(root):
    pages = set()
    for directory, _, files in os.walk(root):
        for name in files:
            if name.endswith(".html"):
                pages.add("/doc/" + os.path.relpath(os.path.join(directory, name), root))
    return pages


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_nginx(prefix, docs):
    os.makedirs(os.path.join(prefix, "tmp"), exist_ok=True)
    port = free_port()
    conf = os.path.join(prefix, "nginx.conf")
    with open(conf, "w") as f:
        f.write(NGINX_CONF.format(prefix=prefix, port=port, docs=docs))
    process = subprocess.Popen(["nginx", "-p", prefix, "-c", conf, "-e",
                                os.path.join(prefix, "error.log")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return process, port
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("nginx did not start: " + open(os.path.join(prefix, "error.log")).read())


def run_once(name, argv, prefix, expected, timeout):
    log = os.path.join(prefix, "access.log")
    offset = os.path.getsize(log) if os.path.exists(log) else 0
    times = os.path.join(prefix, name + ".time")
    started = time.monotonic()
    completed = subprocess.run([GNU_TIME, "-f", "%U %S %M", "-o", times] + argv,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               timeout=timeout)
    wall = time.monotonic() - started
    user, system, rss_kib = open(times).read().split()[-3:]
    with open(log, "rb") as f:
        f.seek(offset)
        lines = f.read().decode("utf-8", "replace").splitlines()
    fetched = {}
    for line in lines:
        method, uri, status = line.split(" ")[:3]
        if method == "GET" and status == "200" and uri.endswith(".html"):
            fetched[uri] = fetched.get(uri, 0) + 1
    problems = []
    # A few pages of the tree are linked from nowhere: "missing" is no problem by itself;
    # both tools must fetch the same set (checked at the end).
    if set(fetched) - expected:
        problems.append("%d pages outside the tree" % len(set(fetched) - expected))
    twice = sum(1 for n in fetched.values() if n > 1)
    if twice:
        problems.append("%d pages fetched twice" % twice)
    return {"tool": name, "wall": wall, "user": float(user), "sys": float(system),
            "rss_mib": int(rss_kib) / 1024, "pages": set(fetched), "exit": completed.returncode,
            "problem": "; ".join(problems) or None}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_RUNS", "5")))
    parser.add_argument("--afetch", default=os.environ.get("AFETCH_BIN",
                                                           os.path.join(REPO_DIR, "afetch")))
    parser.add_argument("--concurrency", "-c", default="10")
    parser.add_argument("--depth", default="20")
    parser.add_argument("--timeout", type=float, default=120)
    args = parser.parse_args()

    docs = doc_tree()
    missing = [what for what, ok in (("python3-doc", docs), ("wget2", shutil.which("wget2")),
                                     ("nginx", shutil.which("nginx"))) if not ok]
    if missing:
        print("C2 skipped: %s not installed (apt-get install python3-doc wget2 nginx-light)"
              % ", ".join(missing))
        return 0
    expected = html_pages(docs)
    prefix = tempfile.mkdtemp(prefix="afetch-c2-")
    nginx, port = start_nginx(prefix, docs)
    try:
        seed = "http://127.0.0.1:%d/doc/index.html" % port
        seed_file = os.path.join(prefix, "seed.txt")
        with open(seed_file, "w") as f:
            f.write(seed + "\n")
        out = os.path.join(prefix, "wget2.out")
        tools = {
            # --scope prefix: the pages under /doc/, as wget2's --no-parent.
            "afetch": [args.afetch, "--crawl", "--depth", args.depth, "-c", args.concurrency,
                       "--scope", "prefix", seed_file],
            # wget2 has no mode that fetches without saving (see C1): it saves into the temp
            # dir, removed after each run.
            "wget2": ["wget2", "--recursive", "--level", args.depth, "--max-threads",
                      args.concurrency, "--no-parent", "--robots=off", "-q", "-P", out, seed],
        }
        records = []
        for round_index in range(args.runs):
            order = list(tools) if round_index % 2 == 0 else list(reversed(list(tools)))
            for name in order:
                record = run_once(name, tools[name], prefix, expected, args.timeout)
                shutil.rmtree(out, ignore_errors=True)
                records.append(record)
                print("C2 %s round %d: %.2f s wall, %.2f s user, %.1f MiB%s" % (
                    name, round_index + 1, record["wall"], record["user"], record["rss_mib"],
                    ", " + record["problem"] if record["problem"] else ""), file=sys.stderr)
        sets = [frozenset(r["pages"]) for r in records if not r["problem"]]
        same = len(set(sets)) == 1 and len(sets) == len(records)
        fetched = len(sets[0]) if sets else 0
        print("\nC2: crawl of python3-doc's HTML (%d pages reachable of %d, %.0f MiB), depth %s, "
              "C=%s, median of %d interleaved runs\n" % (
                  fetched, len(expected), sum(os.path.getsize(os.path.join(docs, p[len("/doc/"):]))
                                     for p in expected) / 1048576, args.depth,
                  args.concurrency, args.runs))
        print("| tool | wall s | pages/s | user CPU s | sys CPU s | peak RSS MiB | runs ok |")
        print("|---|--:|--:|--:|--:|--:|--:|")
        status = 0
        for name in tools:
            ok = [r for r in records if r["tool"] == name and not r["problem"]]
            if not ok:
                print("| %s | — | — | — | — | — | 0/%d |" % (name, args.runs))
                status = 1 if name == "afetch" else status
                continue
            med = lambda key: statistics.median(r[key] for r in ok)
            print("| %s | %.2f | %.0f | %.2f | %.2f | %.1f | %d/%d |" % (
                name, med("wall"), fetched / med("wall"), med("user"), med("sys"),
                med("rss_mib"), len(ok), args.runs))
        print("\nEvery run of both fetched the same set of pages: %s" % ("yes" if same else "NO"))
        return status if same else 1
    finally:
        nginx.send_signal(signal.SIGQUIT)
        try:
            nginx.wait(timeout=5)
        except subprocess.TimeoutExpired:
            nginx.kill()
        shutil.rmtree(prefix, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
