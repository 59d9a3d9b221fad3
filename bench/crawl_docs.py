#!/usr/bin/python3
"""C2: a real site. Crawls Python's HTML documentation as Debian's python3-doc ships it, served
by a private nginx on 127.0.0.1, with afetch and with wget2 side by side, in interleaved rounds;
prints a markdown table of medians per mode: wall time, pages/s, user and system CPU, peak RSS,
and for afetch the p90 of its results' ttfb next to the p90 of nginx's own request time.

Two modes. "pages": afetch --crawl next to wget2 -r; a run counts only if nginx's access log
shows each HTML page fetched once, with a 200, and none outside the tree, and afetch's and
wget2's sets of HTML pages must be equal (a few pages of the tree are linked from nowhere:
neither fetches them; wget2 -r also fetches images and scripts, which afetch fetches only with
-p: only the pages are compared). "requisites": afetch --crawl -p next to wget2 -r -p; every URL
(pages, images, scripts, stylesheets) fetched once, and the same set of URLs. wget2 1.99.1's
-r -p follows no link from any page but the last level's (an inverted level test): when its set
lacks pages, afetch -p is compared with wget2 -r, which follows img, script and link references
as links and so fetches what -p should. Skipped, with a note, when python3-doc or wget2 is
missing. See bench/README.md."""

import argparse
import json
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
    log_format crawl '$request_method $request_uri $status $request_time';
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


def percentile(values, fraction):
    """The value below which `fraction` of `values` lie (nearest rank); None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def result_ttfbs(path):
    """The ttfb of each result in afetch's JSON array (one result a line), in seconds."""
    ttfbs = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip().rstrip(",")
            if line.startswith("{"):
                ttfbs.append(json.loads(line)["time"]["ttfb"])
    return ttfbs


def run_once(name, argv, prefix, expected, timeout, all_urls):
    """One run of `argv`, timed by GNU time, and what nginx's log says it fetched: the HTML
    pages (all_urls False) or every URL (all_urls True) with a 200, each expected once."""
    log = os.path.join(prefix, "access.log")
    offset = os.path.getsize(log) if os.path.exists(log) else 0
    times = os.path.join(prefix, "run.time")
    output = os.path.join(prefix, "run.out")
    started = time.monotonic()
    with open(output, "wb") as out:
        completed = subprocess.run([GNU_TIME, "-f", "%U %S %M", "-o", times] + argv,
                                   stdout=out, stderr=subprocess.DEVNULL, timeout=timeout)
    wall = time.monotonic() - started
    user, system, rss_kib = open(times).read().split()[-3:]
    with open(log, "rb") as f:
        f.seek(offset)
        lines = f.read().decode("utf-8", "replace").splitlines()
    fetched = {}
    served = []
    for line in lines:
        method, uri, status, request_time = line.split(" ")[:4]
        served.append(float(request_time))
        if method == "GET" and status == "200" and (all_urls or uri.endswith(".html")):
            fetched[uri] = fetched.get(uri, 0) + 1
    problems = []
    # A few pages of the tree are linked from nowhere: "missing" is no problem by itself;
    # both tools must fetch the same set (checked at the end).
    if not all_urls and set(fetched) - expected:
        problems.append("%d pages outside the tree" % len(set(fetched) - expected))
    twice = sum(1 for n in fetched.values() if n > 1)
    if twice:
        problems.append("%d URLs fetched twice" % twice)
    ttfb = percentile(result_ttfbs(output), 0.9) if name.startswith("afetch") else None
    return {"tool": name, "wall": wall, "user": float(user), "sys": float(system),
            "rss_mib": int(rss_kib) / 1024, "urls": set(fetched),
            "pages": {u for u in fetched if u.endswith(".html")}, "exit": completed.returncode,
            "ttfb_p90_ms": ttfb * 1000 if ttfb is not None else None,
            "served_p90_ms": (percentile(served, 0.9) or 0) * 1000,
            "problem": "; ".join(problems) or None}


def tool_commands(args, seed, seed_file, out):
    """The commands of each mode: (name, argv), afetch first."""
    afetch = [args.afetch, "--crawl", "--depth", args.depth, "-c", args.concurrency,
              # --scope prefix: the pages under /doc/, as wget2's --no-parent.
              "--scope", "prefix"]
    # wget2 has no mode that fetches without saving (see C1): it saves into the temp dir,
    # removed after each run.
    wget2 = ["wget2", "--recursive", "--level", args.depth, "--max-threads", args.concurrency,
             "--no-parent", "--robots=off", "-q", "-P", out]
    return {
        "pages": [("afetch", afetch + [seed_file]), ("wget2 -r", wget2 + [seed])],
        "requisites": [("afetch -p", afetch + ["-p", seed_file]),
                       ("wget2 -r -p", wget2 + ["--page-requisites", seed]),
                       ("wget2 -r", wget2 + [seed])],
    }


def run_rounds(commands, args, prefix, expected, out, all_urls):
    """args.runs rounds, the tools' order reversed every other round."""
    records = []
    for round_index in range(args.runs):
        order = commands if round_index % 2 == 0 else list(reversed(commands))
        for name, argv in order:
            record = run_once(name, argv, prefix, expected, args.timeout, all_urls)
            shutil.rmtree(out, ignore_errors=True)
            records.append(record)
            print("C2 %s round %d: %.2f s wall, %.2f s user, %.1f MiB, %d URLs%s" % (
                name, round_index + 1, record["wall"], record["user"], record["rss_mib"],
                len(record["urls"]), ", " + record["problem"] if record["problem"] else ""),
                file=sys.stderr)
    return records


def same_sets(records, key, names):
    """True when every run of the tools `names` fetched one and the same set."""
    sets = {frozenset(r[key]) for r in records if r["tool"] in names}
    return len(sets) == 1 and all(not r["problem"] for r in records if r["tool"] in names)


def print_table(mode, commands, records, args, sets_note):
    pages = max((len(r["pages"]) for r in records), default=0)
    urls = max((len(r["urls"]) for r in records if r["tool"].startswith("afetch")), default=0)
    print("\nC2 %s: %d HTML pages, %d URLs (afetch), depth %s, C=%s, median of %d interleaved "
          "runs\n" % (mode, pages, urls, args.depth, args.concurrency, args.runs))
    print("| tool | wall s | pages/s | user CPU s | sys CPU s | peak RSS MiB | ttfb p90 ms "
          "| nginx p90 ms | URLs | runs ok |")
    print("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    status = 0
    for name, _ in commands:
        ok = [r for r in records if r["tool"] == name and not r["problem"]]
        if not ok:
            print("| %s | — | — | — | — | — | — | — | — | 0/%d |" % (name, args.runs))
            status = 1 if name.startswith("afetch") else status
            continue
        med = lambda key: statistics.median(r[key] for r in ok)
        ttfb = "%.1f" % med("ttfb_p90_ms") if name.startswith("afetch") else "—"
        print("| %s | %.2f | %.0f | %.2f | %.2f | %.1f | %s | %.1f | %d | %d/%d |" % (
            name, med("wall"), len(ok[0]["pages"]) / med("wall"), med("user"), med("sys"),
            med("rss_mib"), ttfb, med("served_p90_ms"), len(ok[0]["urls"]), len(ok),
            args.runs))
    print("\n" + sets_note)
    return status


def compare_sets(mode, records):
    """(ok, note): whether afetch fetched what wget2 did, in every run."""
    if mode == "pages":
        same = same_sets(records, "pages", ("afetch", "wget2 -r"))
        return same, "Every run of both fetched the same set of pages: %s" % (
            "yes" if same else "NO")
    with_p = [r for r in records if r["tool"] == "wget2 -r -p"]
    recursive = [r for r in records if r["tool"] == "wget2 -r"]
    peer = "wget2 -r -p"
    note = ""
    if with_p and recursive and len(with_p[0]["pages"]) < len(recursive[0]["pages"]):
        peer = "wget2 -r"
        note = ("wget2 -r -p fetched %d pages of %d (wget2 1.99.1 follows no link from a page "
                "above the last level with -p): afetch -p is compared with wget2 -r, which "
                "follows img, script and link references as links. " % (
                    len(with_p[0]["pages"]), len(recursive[0]["pages"])))
    same = same_sets(records, "urls", ("afetch -p", peer))
    return same, note + "Every run of afetch -p and %s fetched the same set of URLs: %s" % (
        peer, "yes" if same else "NO")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_RUNS", "5")))
    parser.add_argument("--afetch", default=os.environ.get("AFETCH_BIN",
                                                           os.path.join(REPO_DIR, "afetch")))
    parser.add_argument("--concurrency", "-c", default="10")
    parser.add_argument("--depth", default="20")
    parser.add_argument("--timeout", type=float, default=120)
    parser.add_argument("--modes", default="pages,requisites",
                        help="comma-separated: pages, requisites")
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
        print("C2: crawl of python3-doc's HTML (%d pages, %.0f MiB)" % (
            len(expected), sum(os.path.getsize(os.path.join(docs, p[len("/doc/"):]))
                               for p in expected) / 1048576))
        status = 0
        for mode in args.modes.split(","):
            commands = tool_commands(args, seed, seed_file, out)[mode]
            records = run_rounds(commands, args, prefix, expected, out, mode == "requisites")
            same, note = compare_sets(mode, records)
            status = max(status, print_table(mode, commands, records, args, note),
                         0 if same else 1)
        return status
    finally:
        nginx.send_signal(signal.SIGQUIT)
        try:
            nginx.wait(timeout=5)
        except subprocess.TimeoutExpired:
            nginx.kill()
        shutil.rmtree(prefix, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
