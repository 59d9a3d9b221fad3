/*
 * test-server — a local HTTP (and optionally HTTPS) server for afetch's
 * integration tests and demo.
 *
 * Usage: test-server [--tls CERT.pem KEY.pem]
 *
 * Listens on 127.0.0.1 with kernel-chosen ports and prints, on stdout:
 *     http PORT
 *     https PORT      (only with --tls)
 *     ready
 * Exits 0 on SIGTERM, SIGINT, or EOF on stdin (when stdin is a pipe, socket
 * or terminal), so it cannot outlive the harness that holds its stdin.
 *
 * Endpoints (identical on both listeners):
 *     /delay/MS          200 "ok\n" after MS milliseconds (MS <= 600000)
 *     /status/CODE       CODE (200..599), body "status CODE\n"
 *     /bytes/N           200, N bytes of 'x', streamed (N <= 1 TiB)
 *     /redirect/N        302 to /redirect/N-1 (relative); N == 0: 200 "done\n"
 *     /absredirect/N     same with an absolute http(s)://127.0.0.1:PORT URL
 *     /headers           200 JSON echo of method, uri, headers and body
 *     /manyheaders/N     200 "many\n" with repeated headers: "Set-Cookie: a=1",
 *                        "X-Mixed-Case: Yes", "Set-Cookie: b=2", then N
 *                        (N <= 1000) "X-Many: I-" lines, I from 0, each value
 *                        1000 bytes long (ending in 'x's)
 *     /badutf8           200 with raw invalid UTF-8 in Content-Type
 *     /close             connection dropped without any response
 *     /flaky/KEY/N       fails the first N requests for KEY, then succeeds (below)
 *     /file/NAME         a versioned "file" with ETag and Last-Modified (below)
 *     /binary/N          200, N bytes (N <= 1 GiB): byte i is i % 256 (0x00..0xFF
 *                        repeating), application/octet-stream, Content-Length
 *     /slowbytes/N?ms=T  200, Content-Length N, N bytes of 'x' (N <= 1 GiB) in
 *                        64 KiB pieces: the first at once, each next one T ms
 *                        (T <= 600000, default 100) after the previous one has
 *                        been written to the socket
 *     /lie/N/M           headers with "Content-Length: N" (N <= 1 GiB), then M
 *                        bytes of 'x' (1 <= M <= 1 GiB), then the connection is
 *                        closed (FIN) without further ado. M < N: a truncated
 *                        body. M > N: HTTP framing ends the body after N bytes,
 *                        the rest is junk on the connection (for "more than
 *                        announced" use /nolength)
 *     /dropmid/N         /lie/N/(N/2): half the announced body, then the
 *                        connection is closed (2 <= N <= 1 GiB)
 *     /nolength/N        200, N bytes of 'x' (N <= 1 GiB) with no Content-Length
 *                        and no chunked encoding: an HTTP/1.0 response with
 *                        "Connection: close", the body delimited by closing the
 *                        connection
 *     /chunked/N         200, N bytes of 'x' (N <= 1 GiB), no Content-Length:
 *                        chunked encoding (to HTTP/1.1 requests)
 *     /site/...          a generated site of 300 linked HTML pages, for --crawl
 *                        (below)
 *     /private/ANY       200, a small HTML page without links (what robots.txt
 *                        disallows)
 *     /redirect-to/PATH  302 to /PATH (relative; the query is not kept)
 *     /robots.txt        the robots.txt /setrobots chose (below), counted in
 *                        "robots"
 *     /trap/PATH         a crawl trap: an HTML page linking to the ten new pages
 *                        /trap/PATH/0 .. /trap/PATH/9, without end (PATH: any
 *                        text up to 4096 bytes)
 *     /req/...           a small site with page requisites, for -p (below)
 *     /graph/SPEC/N.html page N of a small link graph the URL itself describes,
 *                        answered after that page's delay (below)
 *     /cookie-set/N/V    200 "set\n" with "Set-Cookie: N=V; Path=/"
 *     /redirect-host/H   302 to http://H:PORT/headers (another host name for
 *                        this server, reached with afetch --resolve)
 *     /workers/KEY/N?ms=T  a model server KEY with N workers (N <= 1000): each
 *                        request is served for T ms (default 50, <= 600000) by a
 *                        free worker; beyond N in flight, requests queue (FIFO)
 *                        for one, so latency grows with the load. 200 "ok\n"
 *     /limit/KEY/N?ms=T  a model server KEY that answers 429 "busy\n" at once
 *                        to a request that finds N (<= 1000) of KEY's already in
 *                        flight, else 200 "ok\n" after T ms (default 50)
 *     /model/KEY         JSON counters of model server KEY (not counted itself):
 *                        {"in_flight","max_in_flight","requests","rejected"};
 *                        404 for a KEY never used. At most 64 KEYs (KEY: like
 *                        /flaky's); /reset forgets them
 *     /encoded/KIND      a fixed body (ENCODED_PLAIN below) encoded as KIND
 *                        (gzip or zstd), with Content-Encoding: KIND
 *     /  /any/...        200 "any\n" (text/plain): a catch-all for any path
 *                        under /any/, and for the root
 *     ...?any=1          any path not listed here, with "any=1" in its query:
 *                        200 "any\n" as well (e.g. what /../../tmp/evil?any=1
 *                        becomes once a client resolves its dot segments)
 *     /setversion/NAME/V the current version of /file/NAME becomes V (not
 *                        counted itself); 200 "{}\n", 404 when malformed
 *     /setrobots/KIND    what /robots.txt answers from now on (not counted
 *                        itself); 200 "{}\n", 404 for an unknown KIND
 *     /stats             JSON counters (not counted itself)
 *     /arrivals          JSON log of the counted requests (not counted itself)
 *     /reset             zero the counters, forget the /flaky keys, the
 *                        /setversion versions and the arrival log, and set
 *                        /setrobots back to "default" (not counted itself)
 *     anything else      404 "not found\n"
 *
 * /stats
 *     {"in_flight":I,"max_in_flight":M,"requests":R,"connections":C,
 *      "not_modified":NM,"robots":RB}: requests being answered now, the most
 *     at once since the last /reset, counted requests, accepted connections,
 *     304 replies sent by /file, and /robots.txt requests (all since the last
 *     /reset; /reset sets max_in_flight to the current in_flight).
 *
 * /file/NAME[?size=N][&version=V]
 *     NAME is 1..64 characters of [A-Za-z0-9._-]; N <= 1 GiB (default 1000);
 *     V is a decimal number <= 1000000000 (default: the version /setversion
 *     gave NAME, else 1). Unknown query keys are ignored; a malformed name or
 *     query: 404 "not found\n". The body is N bytes of text/plain: the lines
 *     "NAME-V:KKKKKKKKKK\n" for K = 0, 1, 2, ... (K as 10 zero-padded decimal
 *     digits, modulo 10^10; V in canonical decimal, no leading zeros),
 *     concatenated and cut to N bytes. E.g. /file/a?size=30&version=2 is
 *     "a-2:0000000000\na-2:0000000001\n". Streamed with a Content-Length.
 *     Headers:
 *         ETag: "<16 lower-case hex digits of the 64-bit FNV-1a hash of
 *                 NAME/V/N>"   (V and N canonical decimals, e.g. "a/2/30")
 *         Last-Modified: 2026-01-01 00:00:00 GMT plus V seconds (IMF-fixdate)
 *     Conditional requests: when If-None-Match is present and lists the ETag
 *     (comma-separated, a W/ prefix ignored) or is "*", or when If-None-Match
 *     is absent and If-Modified-Since is an IMF-fixdate at or after the
 *     Last-Modified, the reply is 304 with the same ETag and Last-Modified and
 *     no body, counted in "not_modified". Otherwise 200 with the body.
 *     Ranges (unless the query has ranges=0, which also drops the header):
 *     "Accept-Ranges: bytes"; a "Range: bytes=S-" (that form only) without
 *     If-Range, or with an If-Range equal to the ETag or to the Last-Modified
 *     text, is answered 206 with "Content-Range: bytes S-(N-1)/N" and the
 *     body from byte S, or 416 with "Content-Range: bytes * /N" when S >= N
 *     (no space before '/'); any other Range is ignored (200, whole body).
 *     With ifrange=0 in the query, If-Range is ignored (as by a server that
 *     does not know it): a Range is answered 206 whatever the validator.
 *     rangemax=M in the query: a 206 holds at most M bytes ("bytes S-(S+M-1)/N"),
 *     as from a server that sends less than the rest a Range asked for.
 *     cut=drop or cut=stall in the query: the first response for NAME (since
 *     /reset) that starts at byte 0 sends half its body, then closes the
 *     connection (drop) or sends nothing more, holding it open (stall).
 *
 * /flaky/KEY/N[?status=S][&retry_after=SEC | &retry_after_date=SEC]
 *     KEY is 1..64 characters of [A-Za-z0-9_-]; N <= 1000000. Each KEY has a
 *     request counter. Requests 1..N for KEY answer status S (default 503,
 *     400..599) with body "flaky KEY try K\n" (K: the request's number for
 *     KEY) and, with retry_after, the header "Retry-After: SEC"; with
 *     retry_after_date, "Retry-After: <IMF-fixdate of now + SEC>" instead
 *     (SEC <= 1000000000; giving both is malformed). Later requests answer
 *     200 "ok KEY\n". Malformed paths or queries: 404 "not found\n". At most
 *     4096 keys are remembered: a new key beyond that gets 503 "too many
 *     keys\n" (not counted against the key). Unknown query keys are ignored.
 *
 * /site: a generated site (identical on both listeners)
 *     SCHEME and PORT below are the listener's own ("http" and its port on the
 *     plain listener). Every page is text/html; charset=utf-8.
 *     /site/N.html       page N, for N = 0..299 (canonical decimal: "07.html"
 *                        and "300.html" are 404)
 *     /site/b/N.html     the same bytes as /site/N.html under another URL
 *     /site/data.json    application/json whose text holds
 *                        <a href=\"/site/299.html\">: it must not be parsed
 *     /site/nofollow.html, /site/comment.html, /site/script.html
 *                        small pages without links: a request for one means
 *                        a link was followed that must not be
 *     anything else under /site/: 404
 *     Page N holds, in this document order (M1 = 2N+1, M2 = 2N+2; a child
 *     link only when it is < 300):
 *       1. when N % 10 == 3: <base href="/site/b/"> in <head>, before every
 *          link, so the page's relative links resolve under /site/b/
 *       2. <!-- <a href="/site/comment.html"> --> (in a comment) and
 *          <script> text holding <a href="/site/script.html"> (neither is a
 *          link)
 *       3. <a href="M1.html"> (relative) and
 *          <a href="SCHEME://127.0.0.1:PORT/site/M2.html"> (absolute); when
 *          N % 7 == 0 these two sit in broken markup: an unclosed <div> and
 *          <p>, a stray "<" in the text before them, unquoted attribute values
 *       4. <a href="0.html#top"> (a cycle, with a fragment), then
 *          <a href="./N.html"> (the page itself, when no <base> moves it)
 *       5. <a href="mailto:x@example.com">, <a href="javascript:void(0)">
 *       6. <a rel="external nofollow" href="/site/nofollow.html">, then
 *          <a href="/private/N.html">
 *       7. N == 0: <a href="/redirect-to/site/39.html"> (the only other link
 *          to /site/39.html is page 19's, 4 levels deeper)
 *          N == 5: <a href="SCHEME://localhost:PORT/site/5.html"> then
 *          <a href="SCHEME://www.site.localhost:PORT/site/5.html"> (other
 *          hosts: curl resolves *.localhost to the loopback address itself)
 *          N == 6: <a href="/site/data.json">
 *     Relative links resolve against the page's own URL (or the <base>):
 *     on /site/b/N.html, "M1.html" is /site/b/M1.html.
 *
 * /graph/SPEC/N.html: a link graph with slow pages, for --depth timing
 *     SPEC lists the pages 0, 1, 2, ... (at most 64) separated by "_"; page
 *     i's entry is "DELAY" or "DELAY-L1-L2-...": its whole reply is sent
 *     DELAY milliseconds (<= 10000) after the request arrived, and it is
 *     text/html holding <a href="L1.html">, <a href="L2.html">, ... in that
 *     order (relative: /graph/SPEC/L1.html). Every L and N is a page of SPEC
 *     (canonical decimal); anything else is 404. E.g. /graph/0-1-2_500-2_0/0.html
 *     links to pages 1 and 2; page 1 answers after half a second.
 *
 * /padded/KIB.html: a big page, for parsing in slices
 *     text/html: <a href="first.html">, then KIB (1..16384) KiB of <p> text,
 *     then <a href="last.html"> just before </body>. /padded/first.html and
 *     /padded/last.html are small pages without links; anything else is 404.
 *
 * /robots.txt (as /setrobots/KIND chose; "default" after start and /reset)
 *     default  200 text/plain:
 *                  User-agent: *
 *                  Disallow: /
 *
 *                  User-agent: AFetch
 *                  Disallow: /private/
 *                  Disallow: /site/2*html$
 *                  Allow: /site/2.html$
 *                  Crawl-delay: 0
 *              (plus a leading comment line). For the product token
 *              "afetch": /private/... and /site/2*.html are disallowed except
 *              /site/2.html (the Allow rule is as long as the Disallow one,
 *              and Allow wins ties); everything else is allowed. The "*"
 *              group would disallow everything.
 *     delay    the same with "Crawl-delay: 0.2"
 *     missing  404 "not found\n"
 *     error    503 "robots.txt unavailable\n"
 *
 * /req: pages with requisites, for -p (SCHEME and PORT: the listener's)
 *     /req/index.html    links to /req/page1.html; requisites: link stylesheet
 *                        /req/css/main.css, link icon /req/favicon.ico, script
 *                        /req/js/app.js, img /req/img/logo.png with srcset
 *                        /req/img/logo-2x.png 2x, /req/img/logo-3x.png 3x,
 *                        video poster /req/media/poster.jpg, source
 *                        /req/media/clip.webm, track /req/media/subs.vtt, audio
 *                        /req/media/sound.ogg, object /req/obj/frame.html, embed
 *                        /req/obj/plugin.swf, a style="" url()
 *                        /req/img/attr.png, a <style> url() /req/img/block.png,
 *                        img /private/blocked.png (robots.txt disallows it) and
 *                        img SCHEME://localhost:PORT/req/img/other-host.png
 *     /req/page1.html    img /req/img/page1.png, a link to /req/page2.html
 *     /req/page2.html    img /req/img/page2.png
 *     /req/obj/frame.html  HTML linking to /req/never.html (a requisite is not
 *                        parsed for links)
 *     /req/css/main.css  text/css: @import "base.css", url(../img/bg.png),
 *                        url("/req/font/f.woff2")
 *     /req/css/base.css  text/css: url(/req/img/from-import.png)
 *     anything else under /req/: 200 "bytes\n" application/octet-stream
 *
 * /arrivals
 *     {"dropped":D,"arrivals":[{"t":T,"host":H,"path":P,"range":R,
 *     "if_range":IR},...]}: every counted request in arrival order, T its
 *     arrival in CLOCK_MONOTONIC seconds (microsecond precision), H its Host
 *     header ("" without one), P its request URI (path and query, cut to 4096
 *     bytes), R and IR its Range and If-Range headers (null without one). At
 *     most 100000 are kept; D counts the ones dropped beyond that.
 */

/* For POLLRDHUP (Linux): see peer_has_hung_up(). */
#define _GNU_SOURCE

#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/http_struct.h> /* /nolength: answers as HTTP/1.0 (req->minor) */
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

/* Deep enough that a burst of parallel test clients is never refused. */
#define LISTEN_BACKLOG 4096
/* /bytes bodies above this are streamed in pieces of this size. */
#define STREAM_CHUNK_SIZE (64 * 1024)
#define MAX_DELAY_MS 600000u
#define MAX_BYTES (UINT64_C(1) << 40)
#define MAX_REDIRECTS 1000000u
/* How often a /delay checks for a hangup once unread data hides it. */
#define HANGUP_POLL_INTERVAL_MS 50
/* /flaky bounds. */
#define FLAKY_MAX_KEYS 4096
#define FLAKY_MAX_KEY_LENGTH 64
#define FLAKY_MAX_FAILURES 1000000u
#define FLAKY_MAX_RETRY_AFTER 1000000000u
/* Bounds of the generated bodies (/file, /binary, /slowbytes, /lie, ...). */
#define MAX_FILE_BYTES (UINT64_C(1) << 30)
#define FILE_MAX_NAME_LENGTH 64
#define FILE_MAX_VERSION 1000000000u
#define FILE_DEFAULT_SIZE 1000u
#define FILE_MAX_NAMES 4096
/* 2026-01-01 00:00:00 GMT: the Last-Modified of version 0. */
#define FILE_EPOCH INT64_C(1767225600)
#define SLOWBYTES_DEFAULT_MS 100u
/* /arrivals bounds. */
#define ARRIVALS_MAX 100000
#define ARRIVAL_MAX_PATH 4096
/* /site: pages 0..SITE_PAGES-1. */
#define SITE_PAGES 300u
/* /graph bounds. */
#define GRAPH_MAX_PAGES 64u
#define GRAPH_MAX_DELAY_MS 10000u

/* What a streamed body is made of. */
enum body_kind {
  BODY_FILLER, /* 'x' bytes */
  BODY_BINARY, /* byte i is i % 256 */
  BODY_FILE,   /* /file lines */
};

/* One listening endpoint: plain HTTP or HTTPS, each with its own evhttp. */
struct listener_ctx {
  const char *scheme; /* "http" or "https" */
  unsigned port;
  SSL_CTX *ssl_ctx; /* NULL for plain HTTP */
  struct evhttp *http;
};

/*
 * A counted request, from its arrival until its response has been fully
 * written or its connection has gone away. Exactly one of
 * on_exchange_complete / on_connection_closed / an explicit drop ends it.
 */
struct exchange {
  struct exchange *prev, *next;
  struct evhttp_request *req;
  struct evhttp_connection *evcon;
  struct event *delay_timer;  /* /delay only */
  struct event *hangup_watch; /* /delay only: notices the client leaving */
  evutil_socket_t fd;         /* /delay only: the connection's socket */
  /* Streamed bodies only. */
  enum body_kind body;      /* what the bytes are */
  uint64_t bytes_left;      /* still to send */
  uint64_t offset;          /* already sent */
  char line[96];            /* BODY_FILE: the line prefix "NAME-V:" */
  size_t line_length;       /* its length */
  long pace_ms;             /* > 0: pause between pieces (/slowbytes) */
  bool drop_when_sent;      /* close the connection after the last byte (/lie) */
  bool stall_when_sent;     /* after the last byte, hold the connection open (/file cut) */
  int status;               /* the streamed reply's status; 0: 200 */
  struct event *pace_timer; /* /slowbytes and /lie: the next step */
  /* /workers and /limit: its model server, its place in the model's queue, its service. */
  struct model *model;
  struct exchange *model_next;
  long service_ms;
};

static struct {
  struct event_base *base;
  struct exchange *exchanges; /* live exchanges, freed at exit */
  struct evbuffer *chunk;     /* scratch buffer for streamed chunks */
  long in_flight;
  long max_in_flight;
  long requests;
  long connections;
  long not_modified; /* 304s sent by /file */
  long robots;       /* /robots.txt requests */
} server;

/* One /flaky key and how many requests it has had. */
struct flaky_key {
  char name[FLAKY_MAX_KEY_LENGTH + 1];
  uint64_t requests;
};

/* One counted request, as /arrivals reports it. */
struct arrival {
  double t;       /* CLOCK_MONOTONIC seconds */
  char *host;     /* Host header, "" without one */
  char *path;     /* request URI, at most ARRIVAL_MAX_PATH bytes */
  char *range;    /* Range header, NULL without one */
  char *if_range; /* If-Range header, NULL without one */
};

static struct {
  struct flaky_key *keys; /* FLAKY_MAX_KEYS slots, allocated on first use */
  size_t count;
} flaky;

/* A /file NAME's version set by /setversion. */
struct file_version {
  char name[FILE_MAX_NAME_LENGTH + 1];
  uint64_t version;
  bool cut_done; /* a cut=drop|stall response was sent for NAME */
};

static struct {
  struct file_version *items; /* FILE_MAX_NAMES slots, allocated on first use */
  size_t count;
} versions;

static struct {
  struct arrival *items; /* grows up to ARRIVALS_MAX */
  size_t count, cap;
  uint64_t dropped;
} arrivals;

/* Body source for /bytes; referenced, never copied, by the output buffers. */
static char filler[STREAM_CHUNK_SIZE];
/* Where generated pieces (/file, /binary) are made before being copied out. */
static char scratch[STREAM_CHUNK_SIZE];

/* ---------------------------------------------------------------- exchanges */

static void on_exchange_complete(struct evhttp_request *req, void *arg);
static void on_connection_closed(struct evhttp_connection *evcon, void *arg);
static void model_forget(struct exchange *ex);

static void record_arrival(struct evhttp_request *req);

/* Counts a new request (and logs its arrival) and arranges to hear when it
 * ends, whichever way. */
static struct exchange *begin_exchange(struct evhttp_request *req) {
  struct exchange *ex = calloc(1, sizeof(*ex));
  if (ex == NULL)
    return NULL;
  ex->req = req;
  ex->evcon = evhttp_request_get_connection(req);
  ex->next = server.exchanges;
  if (server.exchanges != NULL)
    server.exchanges->prev = ex;
  server.exchanges = ex;

  server.requests++;
  record_arrival(req);
  server.in_flight++;
  if (server.in_flight > server.max_in_flight)
    server.max_in_flight = server.in_flight;

  evhttp_request_set_on_complete_cb(req, on_exchange_complete, ex);
  /* evhttp handles one request per connection at a time, so the
   * connection's single close callback can belong to this exchange. */
  evhttp_connection_set_closecb(ex->evcon, on_connection_closed, ex);
  return ex;
}

/* Uncounts the exchange and frees its own resources (not the request). */
static void finish_exchange(struct exchange *ex) {
  server.in_flight--;
  if (ex->model != NULL)
    model_forget(ex);
  if (ex->prev != NULL)
    ex->prev->next = ex->next;
  else
    server.exchanges = ex->next;
  if (ex->next != NULL)
    ex->next->prev = ex->prev;
  if (ex->delay_timer != NULL)
    event_free(ex->delay_timer);
  if (ex->hangup_watch != NULL)
    event_free(ex->hangup_watch);
  if (ex->pace_timer != NULL)
    event_free(ex->pace_timer);
  free(ex);
}

/* evhttp wrote the whole response. */
static void on_exchange_complete(struct evhttp_request *req, void *arg) {
  struct evhttp_connection *evcon = evhttp_request_get_connection(req);
  if (evcon != NULL)
    evhttp_connection_set_closecb(evcon, NULL, NULL);
  finish_exchange(arg);
}

/* The connection is being freed before the response was fully written. */
static void on_connection_closed(struct evhttp_connection *evcon, void *arg) {
  struct exchange *ex = arg;
  (void)evcon;
  /* On a network error evhttp detaches a request the handler still owns
   * (e.g. mid-stream); nobody else will free it then. */
  if (evhttp_request_get_connection(ex->req) == NULL)
    evhttp_request_free(ex->req);
  finish_exchange(ex);
}

/* Ends the exchange by closing its connection without a (further) reply. */
static void drop_exchange_connection(struct exchange *ex) {
  struct evhttp_connection *evcon = ex->evcon;
  evhttp_connection_set_closecb(evcon, NULL, NULL);
  finish_exchange(ex);
  /* Also frees the request, which is still attached to it. */
  evhttp_connection_free(evcon);
}

/* ------------------------------------------------------------------ replies */

/*
 * Sends a complete reply. evhttp itself would send a body, without a
 * length, where HTTP forbids one, so: a HEAD reply gets the Content-Length
 * a GET would get and no body, and 204/304 replies get no body at all.
 */
static void send_complete_reply(struct evhttp_request *req, int code, struct evbuffer *body) {
  bool body_forbidden = code == HTTP_NOCONTENT || code == HTTP_NOTMODIFIED;
  bool head = evhttp_request_get_command(req) == EVHTTP_REQ_HEAD;
  if (body != NULL && (head || body_forbidden)) {
    if (!body_forbidden) {
      char length[32];
      snprintf(length, sizeof(length), "%zu", evbuffer_get_length(body));
      evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Length", length);
    }
    evbuffer_drain(body, evbuffer_get_length(body));
  }
  evhttp_send_reply(req, code, NULL, body);
}

/* Sends a complete reply with a printf-formatted body. */
static void send_formatted(struct evhttp_request *req, int code, const char *content_type,
                           const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void send_formatted(struct evhttp_request *req, int code, const char *content_type,
                           const char *fmt, ...) {
  struct evbuffer *body = evbuffer_new();
  va_list ap;
  if (body != NULL) {
    va_start(ap, fmt);
    evbuffer_add_vprintf(body, fmt, ap);
    va_end(ap);
  }
  evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", content_type);
  send_complete_reply(req, code, body);
  if (body != NULL)
    evbuffer_free(body);
}

static void send_not_found(struct evhttp_request *req) {
  send_formatted(req, HTTP_NOTFOUND, "text/plain", "not found\n");
}

/* Parses a plain decimal number (digits only) no larger than max. */
static bool parse_decimal(const char *text, uint64_t max, uint64_t *value) {
  uint64_t v = 0;
  if (*text == '\0')
    return false;
  for (; *text != '\0'; text++) {
    if (*text < '0' || *text > '9')
      return false;
    if (v > (max - (uint64_t)(*text - '0')) / 10)
      return false;
    v = v * 10 + (uint64_t)(*text - '0');
  }
  *value = v;
  return true;
}

/* Returns what follows prefix in path, or NULL when path does not start with it. */
static const char *path_argument(const char *path, const char *prefix) {
  size_t n = strlen(prefix);
  return strncmp(path, prefix, n) == 0 ? path + n : NULL;
}

/* -------------------------------------------------------------------- JSON */

/* Length of the well-formed UTF-8 sequence at s (n bytes available), 0 if none. */
static size_t utf8_sequence_length(const unsigned char *s, size_t n) {
  uint32_t cp, min;
  size_t len, i;
  if (s[0] < 0x80)
    return 1;
  if ((s[0] & 0xE0) == 0xC0) {
    len = 2, cp = s[0] & 0x1Fu, min = 0x80;
  } else if ((s[0] & 0xF0) == 0xE0) {
    len = 3, cp = s[0] & 0x0Fu, min = 0x800;
  } else if ((s[0] & 0xF8) == 0xF0) {
    len = 4, cp = s[0] & 0x07u, min = 0x10000;
  } else {
    return 0;
  }
  if (n < len)
    return 0;
  for (i = 1; i < len; i++) {
    if ((s[i] & 0xC0) != 0x80)
      return 0;
    cp = (cp << 6) | (s[i] & 0x3Fu);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  return len;
}

/*
 * Appends s as a JSON string literal. Valid UTF-8 passes through; bytes that
 * are not part of valid UTF-8 become \u00XX (read as Latin-1) so the
 * output is always valid JSON.
 */
static void append_json_string(struct evbuffer *out, const char *s, size_t n) {
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0, run = 0;
  evbuffer_add(out, "\"", 1);
  while (i < n) {
    unsigned char c = p[i];
    size_t len =
        (c >= 0x20 && c != '"' && c != '\\' && c != 0x7F) ? utf8_sequence_length(p + i, n - i) : 0;
    if (len > 0) {
      i += len;
      run += len;
      continue;
    }
    /* Flush the run of bytes that need no escaping, then escape c. */
    evbuffer_add(out, p + i - run, run);
    run = 0;
    switch (c) {
    case '"':
      evbuffer_add(out, "\\\"", 2);
      break;
    case '\\':
      evbuffer_add(out, "\\\\", 2);
      break;
    case '\n':
      evbuffer_add(out, "\\n", 2);
      break;
    case '\r':
      evbuffer_add(out, "\\r", 2);
      break;
    case '\t':
      evbuffer_add(out, "\\t", 2);
      break;
    case '\b':
      evbuffer_add(out, "\\b", 2);
      break;
    case '\f':
      evbuffer_add(out, "\\f", 2);
      break;
    default:
      evbuffer_add_printf(out, "\\u%04x", (unsigned)c);
      break;
    }
    i++;
  }
  evbuffer_add(out, p + i - run, run);
  evbuffer_add(out, "\"", 1);
}

static void append_json_cstring(struct evbuffer *out, const char *s) {
  append_json_string(out, s, strlen(s));
}

/* A string, or null for NULL. */
static void append_json_nullable(struct evbuffer *out, const char *s) {
  if (s == NULL)
    evbuffer_add(out, "null", 4);
  else
    append_json_cstring(out, s);
}

static const char *method_name(enum evhttp_cmd_type type) {
  switch (type) {
  case EVHTTP_REQ_GET:
    return "GET";
  case EVHTTP_REQ_POST:
    return "POST";
  case EVHTTP_REQ_HEAD:
    return "HEAD";
  case EVHTTP_REQ_PUT:
    return "PUT";
  case EVHTTP_REQ_DELETE:
    return "DELETE";
  case EVHTTP_REQ_OPTIONS:
    return "OPTIONS";
  case EVHTTP_REQ_TRACE:
    return "TRACE";
  case EVHTTP_REQ_CONNECT:
    return "CONNECT";
  case EVHTTP_REQ_PATCH:
    return "PATCH";
  }
  return "UNKNOWN";
}

/*
 * Appends the request headers as one JSON object. Repeated names (compared
 * case-insensitively) are merged into one member, values joined by ", ",
 * so every key is unique; the first spelling of the name is kept.
 */
static void append_json_headers(struct evbuffer *out, struct evkeyvalq *headers) {
  const struct evkeyval *h, *earlier, *later;
  bool first = true;
  evbuffer_add(out, "{", 1);
  for (h = headers->tqh_first; h != NULL; h = h->next.tqe_next) {
    struct evbuffer *value;
    bool seen = false;
    for (earlier = headers->tqh_first; earlier != h; earlier = earlier->next.tqe_next)
      if (strcasecmp(earlier->key, h->key) == 0)
        seen = true;
    if (seen)
      continue;
    value = evbuffer_new();
    if (value == NULL)
      continue;
    evbuffer_add(value, h->value, strlen(h->value));
    for (later = h->next.tqe_next; later != NULL; later = later->next.tqe_next)
      if (strcasecmp(later->key, h->key) == 0)
        evbuffer_add_printf(value, ", %s", later->value);
    if (!first)
      evbuffer_add(out, ",", 1);
    first = false;
    append_json_cstring(out, h->key);
    evbuffer_add(out, ":", 1);
    append_json_string(out, (const char *)evbuffer_pullup(value, -1), evbuffer_get_length(value));
    evbuffer_free(value);
  }
  evbuffer_add(out, "}", 1);
}

/* ---------------------------------------------------------------- endpoints */

/* True when the peer closed or reset the connection, even if unread data
 * (a pipelined request, a TLS close_notify) is still queued before the EOF. */
static bool peer_has_hung_up(evutil_socket_t fd, bool *data_pending) {
  struct pollfd p = {.fd = fd, .events = POLLIN | POLLRDHUP};
  *data_pending = false;
  if (poll(&p, 1, 0) <= 0)
    return false;
  *data_pending = (p.revents & POLLIN) != 0;
  return (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

static void on_delay_hangup_poll(evutil_socket_t fd, short what, void *arg);

/*
 * Best-effort early notice that a /delay client left, so in_flight drops at
 * once rather than when the timer fires (evhttp stops reading the connection
 * while a handler owns the request, so it would not notice by itself).
 */
static void on_delay_client_readable(evutil_socket_t fd, short what, void *arg) {
  struct exchange *ex = arg;
  struct timeval interval = {0, HANGUP_POLL_INTERVAL_MS * 1000};
  bool data_pending;
  (void)what;
  if (peer_has_hung_up(fd, &data_pending)) {
    drop_exchange_connection(ex);
    return;
  }
  if (!data_pending)
    return; /* spurious wakeup */
  /* Data we must not consume is queued (readiness would fire again at
   * once, forever): switch to polling for the hangup on a timer. */
  event_free(ex->hangup_watch);
  ex->hangup_watch = event_new(server.base, -1, EV_PERSIST, on_delay_hangup_poll, ex);
  if (ex->hangup_watch != NULL)
    event_add(ex->hangup_watch, &interval);
}

static void on_delay_hangup_poll(evutil_socket_t fd, short what, void *arg) {
  struct exchange *ex = arg;
  bool data_pending;
  (void)fd;
  (void)what;
  if (peer_has_hung_up(ex->fd, &data_pending))
    drop_exchange_connection(ex);
}

static void on_delay_elapsed(evutil_socket_t fd, short what, void *arg) {
  struct exchange *ex = arg;
  (void)fd;
  (void)what;
  if (ex->hangup_watch != NULL) {
    event_free(ex->hangup_watch);
    ex->hangup_watch = NULL;
  }
  send_formatted(ex->req, HTTP_OK, "text/plain", "ok\n");
}

static void handle_delay(struct exchange *ex, const char *arg) {
  uint64_t ms;
  struct timeval tv;
  struct bufferevent *bev;
  if (!parse_decimal(arg, MAX_DELAY_MS, &ms)) {
    send_not_found(ex->req);
    return;
  }
  ex->delay_timer = evtimer_new(server.base, on_delay_elapsed, ex);
  if (ex->delay_timer == NULL) {
    send_formatted(ex->req, HTTP_INTERNAL, "text/plain", "out of memory\n");
    return;
  }
  bev = evhttp_connection_get_bufferevent(ex->evcon);
  ex->fd = bev != NULL ? bufferevent_getfd(bev) : -1;
  if (ex->fd >= 0) {
    ex->hangup_watch =
        event_new(server.base, ex->fd, EV_READ | EV_PERSIST, on_delay_client_readable, ex);
    if (ex->hangup_watch != NULL)
      event_add(ex->hangup_watch, NULL);
  }
  tv.tv_sec = (time_t)(ms / 1000);
  tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
  evtimer_add(ex->delay_timer, &tv);
}

static void handle_status(struct exchange *ex, const char *arg) {
  uint64_t code;
  if (!parse_decimal(arg, 599, &code) || code < 200) {
    send_not_found(ex->req);
    return;
  }
  send_formatted(ex->req, (int)code, "text/plain", "status %d\n", (int)code);
}

/* Appends the next n bytes of ex's body (from ex->offset) to server.chunk. */
static void add_body_bytes(struct exchange *ex, size_t n) {
  size_t i, done = 0;
  uint64_t at = ex->offset;
  switch (ex->body) {
  case BODY_FILLER:
    evbuffer_add_reference(server.chunk, filler, n, NULL, NULL);
    return;
  case BODY_BINARY:
    for (i = 0; i < n; i++)
      scratch[i] = (char)(unsigned char)((at + i) & 0xFF);
    break;
  case BODY_FILE:
    /* Line K is the prefix, K as 10 digits and "\n"; copy the part of each
     * line that falls into [at, at + n). */
    while (done < n) {
      char line[sizeof(ex->line) + 16];
      size_t length = ex->line_length + 11;
      uint64_t k = at / length;
      size_t pos = (size_t)(at % length), take = length - pos;
      memcpy(line, ex->line, ex->line_length);
      snprintf(line + ex->line_length, 12, "%010" PRIu64 "\n", k % UINT64_C(10000000000));
      if (take > n - done)
        take = n - done;
      memcpy(scratch + done, line + pos, take);
      done += take;
      at += take;
    }
    break;
  }
  evbuffer_add(server.chunk, scratch, n);
}

/* Queues the next piece of a streamed body. */
static void stream_next_chunk(struct exchange *ex);

static void on_stream_timer(evutil_socket_t fd, short what, void *arg) {
  struct exchange *ex = arg;
  (void)fd;
  (void)what;
  if (ex->bytes_left == 0)
    drop_exchange_connection(ex); /* drop_when_sent: everything is written */
  else
    stream_next_chunk(ex);
}

/* The previous piece has drained to the socket: refill, now or after the
 * pause; or, once all is sent with drop_when_sent, close (from a timer, not
 * from inside evhttp's write callback). */
static void on_stream_drained(struct evhttp_connection *evcon, void *arg) {
  struct exchange *ex = arg;
  struct timeval tv = {0, 0};
  (void)evcon;
  if (ex->bytes_left > 0 && ex->pace_ms == 0) {
    stream_next_chunk(ex);
    return;
  }
  if (ex->pace_timer == NULL &&
      (ex->pace_timer = evtimer_new(server.base, on_stream_timer, ex)) == NULL) {
    drop_exchange_connection(ex);
    return;
  }
  if (ex->bytes_left > 0) {
    tv.tv_sec = (time_t)(ex->pace_ms / 1000);
    tv.tv_usec = (suseconds_t)(ex->pace_ms % 1000) * 1000;
  }
  evtimer_add(ex->pace_timer, &tv);
}

static void stream_next_chunk(struct exchange *ex) {
  struct evhttp_request *req = ex->req;
  size_t n = ex->bytes_left < STREAM_CHUNK_SIZE ? (size_t)ex->bytes_left : STREAM_CHUNK_SIZE;
  add_body_bytes(ex, n);
  ex->bytes_left -= n;
  ex->offset += n;
  if (ex->bytes_left > 0 || ex->drop_when_sent) {
    evhttp_send_reply_chunk_with_cb(req, server.chunk, on_stream_drained, ex);
  } else if (ex->stall_when_sent) {
    evhttp_send_reply_chunk(req, server.chunk); /* and nothing more, until the client leaves */
  } else {
    evhttp_send_reply_chunk(req, server.chunk);
    /* May complete (and free ex) synchronously. */
    evhttp_send_reply_end(req);
  }
}

/*
 * Sends a 200 whose body (n bytes of ex->body) is streamed in pieces, with
 * "Content-Length: content_length" unless content_length is NULL. For HEAD
 * only the headers.
 */
static void start_stream(struct exchange *ex, const char *content_type, const char *content_length,
                         uint64_t n) {
  struct evhttp_request *req = ex->req;
  struct evkeyvalq *out = evhttp_request_get_output_headers(req);
  evhttp_add_header(out, "Content-Type", content_type);
  if (content_length != NULL)
    evhttp_add_header(out, "Content-Length", content_length);
  if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD || n == 0) {
    /* No body: evhttp would never call the drain callback. */
    evhttp_send_reply(req, HTTP_OK, NULL, NULL);
    return;
  }
  ex->bytes_left = n;
  evhttp_send_reply_start(req, ex->status != 0 ? ex->status : HTTP_OK, NULL);
  stream_next_chunk(ex);
}

/* start_stream() with a Content-Length of n. */
static void start_stream_with_length(struct exchange *ex, const char *content_type, uint64_t n) {
  char length[32];
  snprintf(length, sizeof(length), "%" PRIu64, n);
  start_stream(ex, content_type, length, n);
}

static void handle_bytes(struct exchange *ex, const char *arg) {
  struct evhttp_request *req = ex->req;
  struct evbuffer *body;
  uint64_t n;
  if (!parse_decimal(arg, MAX_BYTES, &n)) {
    send_not_found(req);
    return;
  }
  if (n <= STREAM_CHUNK_SIZE) {
    body = evbuffer_new();
    if (body != NULL)
      evbuffer_add_reference(body, filler, (size_t)n, NULL, NULL);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "application/octet-stream");
    send_complete_reply(req, HTTP_OK, body);
    if (body != NULL)
      evbuffer_free(body);
    return;
  }
  /* A known length instead of chunked encoding: clients can show
   * progress, and HTTP/1.0 clients keep working. */
  start_stream_with_length(ex, "application/octet-stream", n);
}

static void handle_binary(struct exchange *ex, const char *arg) {
  uint64_t n;
  if (!parse_decimal(arg, MAX_FILE_BYTES, &n)) {
    send_not_found(ex->req);
    return;
  }
  ex->body = BODY_BINARY;
  start_stream_with_length(ex, "application/octet-stream", n);
}

/* Parses the request's query (none: empty) into params, which the caller
 * clears with evhttp_clear_headers() when this returns true. False when the
 * query is malformed. */
static bool parse_request_query(struct evhttp_request *req, struct evkeyvalq *params) {
  const char *query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
  /* Initialises params, also when it fails. */
  if (evhttp_parse_query_str(query != NULL ? query : "", params) != 0) {
    evhttp_clear_headers(params);
    return false;
  }
  return true;
}

static void handle_slowbytes(struct exchange *ex, const char *arg) {
  struct evkeyvalq params;
  const char *ms;
  uint64_t n, pace = SLOWBYTES_DEFAULT_MS;
  bool ok;
  if (!parse_decimal(arg, MAX_FILE_BYTES, &n) || !parse_request_query(ex->req, &params)) {
    send_not_found(ex->req);
    return;
  }
  ms = evhttp_find_header(&params, "ms");
  ok = ms == NULL || parse_decimal(ms, MAX_DELAY_MS, &pace);
  evhttp_clear_headers(&params);
  if (!ok) {
    send_not_found(ex->req);
    return;
  }
  ex->pace_ms = (long)pace;
  start_stream_with_length(ex, "application/octet-stream", n);
}

/* Content-Length: announced, then `sent` bytes, then the connection is closed. */
static void send_lie(struct exchange *ex, uint64_t announced, uint64_t sent) {
  char length[32];
  snprintf(length, sizeof(length), "%" PRIu64, announced);
  ex->drop_when_sent = true;
  start_stream(ex, "application/octet-stream", length, sent);
}

static void handle_lie(struct exchange *ex, const char *arg) {
  const char *slash = strchr(arg, '/');
  char announced_text[32];
  uint64_t announced, sent;
  if (slash == NULL || (size_t)(slash - arg) >= sizeof(announced_text)) {
    send_not_found(ex->req);
    return;
  }
  memcpy(announced_text, arg, (size_t)(slash - arg));
  announced_text[slash - arg] = '\0';
  if (!parse_decimal(announced_text, MAX_FILE_BYTES, &announced) ||
      !parse_decimal(slash + 1, MAX_FILE_BYTES, &sent) || sent == 0) {
    send_not_found(ex->req);
    return;
  }
  send_lie(ex, announced, sent);
}

static void handle_dropmid(struct exchange *ex, const char *arg) {
  uint64_t n;
  if (!parse_decimal(arg, MAX_FILE_BYTES, &n) || n < 2) {
    send_not_found(ex->req);
    return;
  }
  send_lie(ex, n, n / 2);
}

static void handle_nolength(struct exchange *ex, const char *arg) {
  uint64_t n;
  if (!parse_decimal(arg, MAX_FILE_BYTES, &n)) {
    send_not_found(ex->req);
    return;
  }
  /* evhttp chunks a length-less reply to an HTTP/1.1 request; as an
   * HTTP/1.0 exchange it sends the body as is and closes the connection
   * after it. */
  ex->req->major = 1;
  ex->req->minor = 0;
  evhttp_add_header(evhttp_request_get_output_headers(ex->req), "Connection", "close");
  start_stream(ex, "application/octet-stream", NULL, n);
}

static void handle_chunked(struct exchange *ex, const char *arg) {
  uint64_t n;
  if (!parse_decimal(arg, MAX_FILE_BYTES, &n)) {
    send_not_found(ex->req);
    return;
  }
  start_stream(ex, "application/octet-stream", NULL, n);
}

/* -------------------------------------------------------------------- /file */

static bool is_file_name(const char *name, size_t length) {
  size_t i;
  if (length == 0 || length > FILE_MAX_NAME_LENGTH)
    return false;
  for (i = 0; i < length; i++) {
    char c = name[i];
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
          c == '_' || c == '-'))
      return false;
  }
  return true;
}

/* NAME's /setversion slot (created with version 1 when create), or NULL. */
static struct file_version *version_lookup(const char *name, bool create) {
  size_t i;
  for (i = 0; i < versions.count; i++)
    if (strcmp(versions.items[i].name, name) == 0)
      return &versions.items[i];
  if (!create)
    return NULL;
  if (versions.items == NULL &&
      (versions.items = calloc(FILE_MAX_NAMES, sizeof(*versions.items))) == NULL)
    return NULL;
  if (versions.count == FILE_MAX_NAMES)
    return NULL;
  snprintf(versions.items[versions.count].name, sizeof(versions.items[0].name), "%s", name);
  versions.items[versions.count].version = 1;
  versions.items[versions.count].cut_done = false;
  return &versions.items[versions.count++];
}

static void clear_versions(void) {
  free(versions.items);
  versions.items = NULL;
  versions.count = 0;
}

/* 64-bit FNV-1a of s, continuing from hash. */
static uint64_t fnv1a(uint64_t hash, const char *s) {
  for (; *s != '\0'; s++) {
    hash ^= (unsigned char)*s;
    hash *= UINT64_C(0x100000001b3);
  }
  return hash;
}

/* Adds "<when> GMT" as an IMF-fixdate header. */
static void add_date_header(struct evkeyvalq *headers, const char *name, time_t when) {
  struct tm tm;
  char date[64];
  if (gmtime_r(&when, &tm) != NULL &&
      strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm) > 0)
    evhttp_add_header(headers, name, date);
}

/* True when the If-None-Match list holds etag (weak comparison) or "*". */
static bool etag_listed(const char *list, const char *etag) {
  size_t n = strlen(etag);
  const char *p = list;
  while (*p != '\0') {
    const char *end;
    while (*p == ' ' || *p == '\t' || *p == ',')
      p++;
    if (strncmp(p, "W/", 2) == 0)
      p += 2;
    end = p;
    while (*end != '\0' && *end != ',' && *end != ' ' && *end != '\t')
      end++;
    if ((size_t)(end - p) == 1 && *p == '*')
      return true;
    if ((size_t)(end - p) == n && strncmp(p, etag, n) == 0)
      return true;
    p = end;
  }
  return false;
}

/* True when the request's conditions say the client has this version. */
static bool client_has_version(struct evhttp_request *req, const char *etag, time_t modified) {
  struct evkeyvalq *in = evhttp_request_get_input_headers(req);
  const char *none_match = evhttp_find_header(in, "If-None-Match");
  const char *since = evhttp_find_header(in, "If-Modified-Since");
  struct tm tm;
  const char *end;
  if (none_match != NULL)
    return etag_listed(none_match, etag);
  if (since == NULL)
    return false;
  memset(&tm, 0, sizeof(tm));
  end = strptime(since, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return end != NULL && *end == '\0' && timegm(&tm) >= modified;
}

/* /file's range and cut options. */
struct file_query {
  bool ranges;       /* Range honoured, Accept-Ranges sent (not ranges=0) */
  bool if_range;     /* If-Range honoured (not ifrange=0) */
  const char *cut;   /* "drop", "stall" or NULL (static strings) */
  uint64_t range_max; /* rangemax=N: a 206 holds at most N bytes (0: no cap) */
  char etag[40];     /* filled by handle_file: what If-Range must equal */
  char modified[64]; /* the Last-Modified text, which If-Range may equal too */
};

static bool parse_file_query(struct evkeyvalq *params, struct file_query *query) {
  const char *ranges = evhttp_find_header(params, "ranges");
  const char *cut = evhttp_find_header(params, "cut");
  const char *if_range = evhttp_find_header(params, "ifrange");
  const char *range_max = evhttp_find_header(params, "rangemax");
  memset(query, 0, sizeof(*query));
  if (range_max != NULL && !parse_decimal(range_max, UINT64_MAX, &query->range_max))
    return false;
  query->ranges = ranges == NULL || strcmp(ranges, "1") == 0;
  query->if_range = if_range == NULL || strcmp(if_range, "1") == 0;
  if (cut != NULL)
    query->cut = strcmp(cut, "drop") == 0 ? "drop" : strcmp(cut, "stall") == 0 ? "stall" : NULL;
  return (ranges == NULL || strcmp(ranges, "0") == 0 || strcmp(ranges, "1") == 0) &&
         (if_range == NULL || strcmp(if_range, "0") == 0 || strcmp(if_range, "1") == 0) &&
         (cut == NULL || query->cut != NULL);
}

enum file_range { RANGE_WHOLE, RANGE_FROM, RANGE_UNSATISFIABLE };

/* What the request's Range and If-Range ask of a body of `size` bytes: the whole body, the
 * part from *start, or nothing (a start past the end). */
static enum file_range requested_range(struct evhttp_request *req, const struct file_query *query,
                                       uint64_t size, uint64_t *start) {
  struct evkeyvalq *in = evhttp_request_get_input_headers(req);
  const char *range = evhttp_find_header(in, "Range");
  const char *if_range = evhttp_find_header(in, "If-Range");
  char digits[32];
  size_t length;
  uint64_t from;
  if (!query->ranges || range == NULL || strncmp(range, "bytes=", 6) != 0)
    return RANGE_WHOLE;
  length = strlen(range + 6);
  if (length < 2 || length > sizeof(digits) || range[6 + length - 1] != '-')
    return RANGE_WHOLE;
  memcpy(digits, range + 6, length - 1);
  digits[length - 1] = '\0';
  if (!parse_decimal(digits, UINT64_MAX, &from))
    return RANGE_WHOLE;
  if (query->if_range && if_range != NULL && strcmp(if_range, query->etag) != 0 &&
      strcmp(if_range, query->modified) != 0)
    return RANGE_WHOLE;
  *start = from;
  return from >= size ? RANGE_UNSATISFIABLE : RANGE_FROM;
}

/* Streams /file's body (ex->line set), or the part of it the Range asks for, cut as the query
 * says. */
static void send_file_body(struct exchange *ex, const char *name, struct file_query *query,
                           uint64_t size) {
  struct evkeyvalq *out = evhttp_request_get_output_headers(ex->req);
  struct file_version *slot;
  char length[32], content_range[96];
  uint64_t start = 0;
  enum file_range range;
  uint64_t content_size = size; /* the whole body's, for Content-Range */
  snprintf(query->etag, sizeof(query->etag), "%s", evhttp_find_header(out, "ETag"));
  snprintf(query->modified, sizeof(query->modified), "%s",
           evhttp_find_header(out, "Last-Modified"));
  range = requested_range(ex->req, query, size, &start);
  if (query->ranges)
    evhttp_add_header(out, "Accept-Ranges", "bytes");
  if (range == RANGE_UNSATISFIABLE) {
    snprintf(content_range, sizeof(content_range), "bytes */%" PRIu64, size);
    evhttp_add_header(out, "Content-Range", content_range);
    send_formatted(ex->req, 416, "text/plain", "range not satisfiable\n");
    return;
  }
  if (range == RANGE_FROM) {
    if (query->range_max > 0 && size - start > query->range_max)
      size = start + query->range_max; /* a server that sends less than the rest asked for */
    snprintf(content_range, sizeof(content_range), "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, start,
             size - 1, content_size);
    evhttp_add_header(out, "Content-Range", content_range);
    ex->status = 206;
    ex->offset = start;
  }
  snprintf(length, sizeof(length), "%" PRIu64, size - start);
  slot = query->cut != NULL && start == 0 ? version_lookup(name, true) : NULL;
  if (slot != NULL && !slot->cut_done && size >= 2) {
    slot->cut_done = true;
    if (strcmp(query->cut, "drop") == 0)
      ex->drop_when_sent = true;
    else
      ex->stall_when_sent = true;
    start_stream(ex, "text/plain", length, size / 2);
    return;
  }
  start_stream(ex, "text/plain", length, size - start);
}

static void handle_file(struct exchange *ex, const char *name) {
  struct evhttp_request *req = ex->req;
  struct evkeyvalq *out = evhttp_request_get_output_headers(req);
  struct evkeyvalq params;
  const char *size_text, *version_text;
  const struct file_version *set;
  uint64_t size = FILE_DEFAULT_SIZE, version, hash;
  char etag[40], key[128];
  time_t modified;
  struct file_query query;
  bool ok;

  if (!is_file_name(name, strlen(name)) || !parse_request_query(req, &params)) {
    send_not_found(req);
    return;
  }
  set = version_lookup(name, false);
  version = set != NULL ? set->version : 1;
  size_text = evhttp_find_header(&params, "size");
  version_text = evhttp_find_header(&params, "version");
  ok = (size_text == NULL || parse_decimal(size_text, MAX_FILE_BYTES, &size)) &&
       (version_text == NULL || parse_decimal(version_text, FILE_MAX_VERSION, &version)) &&
       parse_file_query(&params, &query);
  evhttp_clear_headers(&params);
  if (!ok) {
    send_not_found(req);
    return;
  }

  snprintf(key, sizeof(key), "%s/%" PRIu64 "/%" PRIu64, name, version, size);
  hash = fnv1a(UINT64_C(0xcbf29ce484222325), key);
  snprintf(etag, sizeof(etag), "\"%016" PRIx64 "\"", hash);
  modified = (time_t)(FILE_EPOCH + (int64_t)version);
  evhttp_add_header(out, "ETag", etag);
  add_date_header(out, "Last-Modified", modified);
  if (client_has_version(req, etag, modified)) {
    server.not_modified++;
    send_complete_reply(req, HTTP_NOTMODIFIED, NULL);
    return;
  }
  ex->body = BODY_FILE;
  ex->line_length = (size_t)snprintf(ex->line, sizeof(ex->line), "%s-%" PRIu64 ":", name, version);
  send_file_body(ex, name, &query, size);
}

/* /setversion/NAME/V (not counted). */
static void handle_setversion(struct evhttp_request *req, const char *arg) {
  const char *slash = strchr(arg, '/');
  char name[FILE_MAX_NAME_LENGTH + 1];
  struct file_version *slot;
  uint64_t version;
  size_t length = slash != NULL ? (size_t)(slash - arg) : 0;
  if (slash == NULL || !is_file_name(arg, length) ||
      !parse_decimal(slash + 1, FILE_MAX_VERSION, &version)) {
    send_not_found(req);
    return;
  }
  memcpy(name, arg, length);
  name[length] = '\0';
  slot = version_lookup(name, true);
  if (slot == NULL) {
    send_formatted(req, HTTP_SERVUNAVAIL, "text/plain", "too many names\n");
    return;
  }
  slot->version = version;
  send_formatted(req, HTTP_OK, "application/json", "{}\n");
}

/* True when the request's query has "any=1". */
static bool query_asks_for_any(struct evhttp_request *req) {
  struct evkeyvalq params;
  const char *any;
  bool yes;
  if (!parse_request_query(req, &params))
    return false;
  any = evhttp_find_header(&params, "any");
  yes = any != NULL && strcmp(any, "1") == 0;
  evhttp_clear_headers(&params);
  return yes;
}

static void handle_redirect(struct exchange *ex, const struct listener_ctx *lc, const char *arg,
                            bool absolute) {
  struct evhttp_request *req = ex->req;
  const char *name = absolute ? "absredirect" : "redirect";
  char location[128];
  uint64_t n;
  if (!parse_decimal(arg, MAX_REDIRECTS, &n)) {
    send_not_found(req);
    return;
  }
  if (n == 0) {
    send_formatted(req, HTTP_OK, "text/plain", "done\n");
    return;
  }
  if (absolute)
    snprintf(location, sizeof(location), "%s://127.0.0.1:%u/%s/%" PRIu64, lc->scheme, lc->port,
             name, n - 1);
  else
    snprintf(location, sizeof(location), "/%s/%" PRIu64, name, n - 1);
  evhttp_add_header(evhttp_request_get_output_headers(req), "Location", location);
  send_formatted(req, HTTP_MOVETEMP, "text/plain", "redirect to %s\n", location);
}

/* Longest /manyheaders/N: 1000 KiB of X-Many lines stays within libcurl's own limit for a
 * response's headers only below N = 300; larger N tests that limit. */
#define MANY_HEADERS_MAX 1000
#define MANY_HEADERS_VALUE 1000

static void handle_many_headers(struct exchange *ex, const char *arg) {
  uint64_t n;
  if (!parse_decimal(arg, MANY_HEADERS_MAX, &n)) {
    send_not_found(ex->req);
    return;
  }
  struct evkeyvalq *headers = evhttp_request_get_output_headers(ex->req);
  evhttp_add_header(headers, "Set-Cookie", "a=1");
  evhttp_add_header(headers, "X-Mixed-Case", "Yes");
  evhttp_add_header(headers, "Set-Cookie", "b=2");
  char value[MANY_HEADERS_VALUE + 1];
  for (uint64_t i = 0; i < n; i++) {
    int length = snprintf(value, sizeof value, "%" PRIu64 "-", i);
    memset(value + length, 'x', MANY_HEADERS_VALUE - (size_t)length);
    value[MANY_HEADERS_VALUE] = '\0';
    evhttp_add_header(headers, "X-Many", value);
  }
  send_formatted(ex->req, HTTP_OK, "text/plain", "many\n");
}

static void handle_headers(struct exchange *ex) {
  struct evhttp_request *req = ex->req;
  struct evbuffer *in = evhttp_request_get_input_buffer(req);
  struct evbuffer *body = evbuffer_new();
  if (body == NULL) {
    send_formatted(req, HTTP_INTERNAL, "text/plain", "out of memory\n");
    return;
  }
  evbuffer_add_printf(body,
                      "{\"method\":\"%s\",\"uri\":", method_name(evhttp_request_get_command(req)));
  append_json_cstring(body, evhttp_request_get_uri(req));
  evbuffer_add_printf(body, ",\"headers\":");
  append_json_headers(body, evhttp_request_get_input_headers(req));
  evbuffer_add_printf(body, ",\"body\":");
  append_json_string(body, (const char *)evbuffer_pullup(in, -1), evbuffer_get_length(in));
  evbuffer_add_printf(body, "}\n");
  evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
  send_complete_reply(req, HTTP_OK, body);
  evbuffer_free(body);
}

static void handle_bad_utf8(struct exchange *ex) {
  send_formatted(ex->req, HTTP_OK, "text/plain; charset=\xff\xfe", "x");
}

/* ------------------------------------------------------------ arrival log */

static double monotonic_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A malloc'd copy of at most max bytes of s, or NULL. */
static char *copy_prefix(const char *s, size_t max) {
  size_t n = strnlen(s, max);
  char *copy = malloc(n + 1);
  if (copy != NULL) {
    memcpy(copy, s, n);
    copy[n] = '\0';
  }
  return copy;
}

/* Appends the request to the arrival log, or counts it as dropped when the
 * log is full (or memory is short). */
static void record_arrival(struct evhttp_request *req) {
  const char *host = evhttp_find_header(evhttp_request_get_input_headers(req), "Host");
  const char *range = evhttp_find_header(evhttp_request_get_input_headers(req), "Range");
  const char *if_range = evhttp_find_header(evhttp_request_get_input_headers(req), "If-Range");
  const char *uri = evhttp_request_get_uri(req);
  struct arrival a;
  if (arrivals.count == arrivals.cap) {
    size_t cap = arrivals.cap ? 2 * arrivals.cap : 1024;
    struct arrival *items;
    if (cap > ARRIVALS_MAX)
      cap = ARRIVALS_MAX;
    if (cap == arrivals.cap || (items = realloc(arrivals.items, cap * sizeof(*items))) == NULL) {
      arrivals.dropped++;
      return;
    }
    arrivals.items = items;
    arrivals.cap = cap;
  }
  a.t = monotonic_seconds();
  a.host = copy_prefix(host != NULL ? host : "", ARRIVAL_MAX_PATH);
  a.path = copy_prefix(uri != NULL ? uri : "", ARRIVAL_MAX_PATH);
  a.range = range != NULL ? copy_prefix(range, ARRIVAL_MAX_PATH) : NULL;
  a.if_range = if_range != NULL ? copy_prefix(if_range, ARRIVAL_MAX_PATH) : NULL;
  if (a.host == NULL || a.path == NULL || (range != NULL && a.range == NULL) ||
      (if_range != NULL && a.if_range == NULL)) {
    free(a.host);
    free(a.path);
    free(a.range);
    free(a.if_range);
    arrivals.dropped++;
    return;
  }
  arrivals.items[arrivals.count++] = a;
}

static void clear_arrivals(void) {
  size_t i;
  for (i = 0; i < arrivals.count; i++) {
    free(arrivals.items[i].host);
    free(arrivals.items[i].path);
    free(arrivals.items[i].range);
    free(arrivals.items[i].if_range);
  }
  free(arrivals.items);
  arrivals.items = NULL;
  arrivals.count = arrivals.cap = 0;
  arrivals.dropped = 0;
}

static void handle_arrivals(struct evhttp_request *req) {
  struct evbuffer *body = evbuffer_new();
  size_t i;
  if (body == NULL) {
    send_formatted(req, HTTP_INTERNAL, "text/plain", "out of memory\n");
    return;
  }
  evbuffer_add_printf(body, "{\"dropped\":%" PRIu64 ",\"arrivals\":[", arrivals.dropped);
  for (i = 0; i < arrivals.count; i++) {
    const struct arrival *a = &arrivals.items[i];
    evbuffer_add_printf(body, "%s{\"t\":%.6f,\"host\":", i > 0 ? "," : "", a->t);
    append_json_cstring(body, a->host);
    evbuffer_add_printf(body, ",\"path\":");
    append_json_cstring(body, a->path);
    evbuffer_add_printf(body, ",\"range\":");
    append_json_nullable(body, a->range);
    evbuffer_add_printf(body, ",\"if_range\":");
    append_json_nullable(body, a->if_range);
    evbuffer_add(body, "}", 1);
  }
  evbuffer_add_printf(body, "]}\n");
  evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
  send_complete_reply(req, HTTP_OK, body);
  evbuffer_free(body);
}

/* ------------------------------------------------------------------- /flaky */

/* The counter of key (created at 0 if new), or NULL when the table is full. */
static struct flaky_key *flaky_lookup(const char *key, size_t length) {
  size_t i;
  for (i = 0; i < flaky.count; i++)
    if (strlen(flaky.keys[i].name) == length && memcmp(flaky.keys[i].name, key, length) == 0)
      return &flaky.keys[i];
  if (flaky.keys == NULL && (flaky.keys = calloc(FLAKY_MAX_KEYS, sizeof(*flaky.keys))) == NULL)
    return NULL;
  if (flaky.count == FLAKY_MAX_KEYS)
    return NULL;
  memcpy(flaky.keys[flaky.count].name, key, length);
  flaky.keys[flaky.count].name[length] = '\0';
  flaky.keys[flaky.count].requests = 0;
  return &flaky.keys[flaky.count++];
}

static void clear_flaky(void) {
  free(flaky.keys);
  flaky.keys = NULL;
  flaky.count = 0;
}

static bool is_flaky_key(const char *key, size_t length) {
  size_t i;
  if (length == 0 || length > FLAKY_MAX_KEY_LENGTH)
    return false;
  for (i = 0; i < length; i++) {
    char c = key[i];
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
          c == '-'))
      return false;
  }
  return true;
}

/* What a /flaky query asks for a failing reply. */
struct flaky_reply {
  uint64_t status;
  bool retry_after_given, retry_after_date_given;
  uint64_t retry_after; /* seconds, either form */
};

/* Parses status=, retry_after= and retry_after_date= from query (may be NULL). */
static bool parse_flaky_query(const char *query, struct flaky_reply *reply) {
  struct evkeyvalq params;
  const char *status, *seconds, *date;
  bool ok = true;
  *reply = (struct flaky_reply){.status = 503};
  if (query == NULL)
    return true;
  /* Initialises params, also when it fails. */
  if (evhttp_parse_query_str(query, &params) != 0) {
    evhttp_clear_headers(&params);
    return false;
  }
  status = evhttp_find_header(&params, "status");
  seconds = evhttp_find_header(&params, "retry_after");
  date = evhttp_find_header(&params, "retry_after_date");
  if (status != NULL)
    ok = parse_decimal(status, 599, &reply->status) && reply->status >= 400;
  if (ok && seconds != NULL && date != NULL)
    ok = false;
  else if (ok && seconds != NULL)
    ok = reply->retry_after_given =
        parse_decimal(seconds, FLAKY_MAX_RETRY_AFTER, &reply->retry_after);
  else if (ok && date != NULL)
    ok = reply->retry_after_date_given =
        parse_decimal(date, FLAKY_MAX_RETRY_AFTER, &reply->retry_after);
  evhttp_clear_headers(&params);
  return ok;
}

/* Adds "Retry-After: <IMF-fixdate of now + seconds>". */
static void add_retry_after_date(struct evkeyvalq *headers, uint64_t seconds) {
  time_t when = time(NULL) + (time_t)seconds;
  struct tm tm;
  char date[64];
  if (gmtime_r(&when, &tm) != NULL &&
      strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm) > 0)
    evhttp_add_header(headers, "Retry-After", date);
}

static void handle_flaky(struct exchange *ex, const char *arg) {
  struct evhttp_request *req = ex->req;
  struct evkeyvalq *headers = evhttp_request_get_output_headers(req);
  const char *slash = strchr(arg, '/');
  size_t key_length = slash != NULL ? (size_t)(slash - arg) : 0;
  struct flaky_reply reply;
  struct flaky_key *key;
  uint64_t failures;
  char number[32];

  if (slash == NULL || !is_flaky_key(arg, key_length) ||
      !parse_decimal(slash + 1, FLAKY_MAX_FAILURES, &failures) ||
      !parse_flaky_query(evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req)), &reply)) {
    send_not_found(req);
    return;
  }
  key = flaky_lookup(arg, key_length);
  if (key == NULL) {
    send_formatted(req, HTTP_SERVUNAVAIL, "text/plain", "too many keys\n");
    return;
  }
  key->requests++;
  if (key->requests > failures) {
    send_formatted(req, HTTP_OK, "text/plain", "ok %s\n", key->name);
    return;
  }
  if (reply.retry_after_given) {
    snprintf(number, sizeof(number), "%" PRIu64, reply.retry_after);
    evhttp_add_header(headers, "Retry-After", number);
  } else if (reply.retry_after_date_given) {
    add_retry_after_date(headers, reply.retry_after);
  }
  send_formatted(req, (int)reply.status, "text/plain", "flaky %s try %" PRIu64 "\n", key->name,
                 key->requests);
}

/* ------------------------------------------------- /workers, /limit, /model */

#define MODEL_MAX_KEYS 64
#define MODEL_MAX_WORKERS 1000u
#define MODEL_DEFAULT_MS 50u

/* A model server: its requests in flight (served or queued), the busy workers. */
struct model {
  char name[FLAKY_MAX_KEY_LENGTH + 1];
  long in_flight, max_in_flight, requests, rejected;
  unsigned workers, busy;             /* /workers: queue beyond `workers` busy */
  struct exchange *queue_head, *queue_tail;
};

static struct {
  struct model items[MODEL_MAX_KEYS];
  size_t count;
} models;

static struct model *model_lookup(const char *name, size_t length, bool create) {
  size_t i;
  for (i = 0; i < models.count; i++)
    if (strlen(models.items[i].name) == length && memcmp(models.items[i].name, name, length) == 0)
      return &models.items[i];
  if (!create || models.count == MODEL_MAX_KEYS)
    return NULL;
  struct model *m = &models.items[models.count++];
  memset(m, 0, sizeof(*m));
  memcpy(m->name, name, length);
  return m;
}

static void on_model_served(evutil_socket_t fd, short what, void *arg);

/* A worker takes the exchange: its reply goes after its service time. */
static void model_serve(struct exchange *ex) {
  struct timeval tv = {.tv_sec = ex->service_ms / 1000, .tv_usec = (ex->service_ms % 1000) * 1000};
  ex->model->busy++;
  ex->delay_timer = evtimer_new(server.base, on_model_served, ex);
  if (ex->delay_timer == NULL) {
    send_formatted(ex->req, HTTP_INTERNAL, "text/plain", "out of memory\n");
    return;
  }
  evtimer_add(ex->delay_timer, &tv);
}

/* The exchange leaves its model (answered or gone): a queued one takes its worker. */
static void model_leave(struct exchange *ex, bool was_served) {
  struct model *m = ex->model;
  ex->model = NULL;
  m->in_flight--;
  if (!was_served)
    return;
  m->busy--;
  struct exchange *next = m->queue_head;
  if (next != NULL && m->busy < m->workers) {
    m->queue_head = next->model_next;
    if (m->queue_head == NULL)
      m->queue_tail = NULL;
    model_serve(next);
  }
}

/* The client left before its reply: out of the queue, or its worker freed. */
static void model_forget(struct exchange *ex) {
  struct model *m = ex->model;
  struct exchange **at = &m->queue_head, *prev = NULL;
  while (*at != NULL && *at != ex) {
    prev = *at;
    at = &(*at)->model_next;
  }
  if (*at == ex) {
    *at = ex->model_next;
    if (m->queue_tail == ex)
      m->queue_tail = prev;
    model_leave(ex, false);
    return;
  }
  model_leave(ex, true);
}

static void on_model_served(evutil_socket_t fd, short what, void *arg) {
  struct exchange *ex = arg;
  (void)fd;
  (void)what;
  if (ex->model != NULL) /* NULL: a /reset forgot its model */
    model_leave(ex, true);
  send_formatted(ex->req, HTTP_OK, "text/plain", "ok\n");
}

/* "KEY/N" and ?ms=T into the exchange's model (counted in), N and the service time. */
static bool model_arrive(struct exchange *ex, const char *arg, uint64_t *n) {
  const char *slash = strchr(arg, '/');
  size_t length = slash != NULL ? (size_t)(slash - arg) : 0;
  struct evkeyvalq params;
  uint64_t ms = MODEL_DEFAULT_MS;
  if (slash == NULL || !is_flaky_key(arg, length) ||
      !parse_decimal(slash + 1, MODEL_MAX_WORKERS, n) || *n == 0 ||
      !parse_request_query(ex->req, &params))
    return false;
  const char *text = evhttp_find_header(&params, "ms");
  bool ok = text == NULL || parse_decimal(text, MAX_DELAY_MS, &ms);
  evhttp_clear_headers(&params);
  struct model *m = ok ? model_lookup(arg, length, true) : NULL;
  if (m == NULL)
    return false;
  ex->model = m;
  ex->service_ms = (long)ms;
  m->requests++;
  if (++m->in_flight > m->max_in_flight)
    m->max_in_flight = m->in_flight;
  return true;
}

static void handle_workers(struct exchange *ex, const char *arg) {
  uint64_t n;
  if (!model_arrive(ex, arg, &n)) {
    send_not_found(ex->req);
    return;
  }
  struct model *m = ex->model;
  m->workers = (unsigned)n;
  if (m->busy < m->workers) {
    model_serve(ex);
    return;
  }
  ex->model_next = NULL;
  if (m->queue_tail != NULL)
    m->queue_tail->model_next = ex;
  else
    m->queue_head = ex;
  m->queue_tail = ex;
}

static void handle_limit(struct exchange *ex, const char *arg) {
  uint64_t n;
  if (!model_arrive(ex, arg, &n)) {
    send_not_found(ex->req);
    return;
  }
  struct model *m = ex->model;
  m->workers = UINT32_MAX;
  if (m->in_flight > (long)n) {
    m->rejected++;
    model_leave(ex, false);
    send_formatted(ex->req, 429, "text/plain", "busy\n");
    return;
  }
  model_serve(ex);
}

static void handle_model(struct evhttp_request *req, const char *name) {
  const struct model *m = model_lookup(name, strlen(name), false);
  if (m == NULL) {
    send_not_found(req);
    return;
  }
  send_formatted(req, HTTP_OK, "application/json",
                 "{\"in_flight\":%ld,\"max_in_flight\":%ld,\"requests\":%ld,\"rejected\":%ld}\n",
                 m->in_flight, m->max_in_flight, m->requests, m->rejected);
}

/* /reset: every model forgotten (exchanges still in one keep answering, uncounted). */
static void clear_models(void) {
  struct exchange *ex;
  for (ex = server.exchanges; ex != NULL; ex = ex->next)
    ex->model = NULL;
  models.count = 0;
}

/* ------------------------------------------------------------------- /site */

/* What /robots.txt answers; chosen with /setrobots/KIND, back to the default on /reset. */
enum robots_kind { ROBOTS_DEFAULT, ROBOTS_MISSING, ROBOTS_ERROR, ROBOTS_DELAY };

static enum robots_kind robots_kind = ROBOTS_DEFAULT;

/* The rules of ROBOTS_DEFAULT and ROBOTS_DELAY ("%s": the Crawl-delay). */
#define ROBOTS_RULES                                                                               \
  "# afetch test server\n"                                                                         \
  "User-agent: *\n"                                                                                \
  "Disallow: /\n"                                                                                  \
  "\n"                                                                                             \
  "User-agent: AFetch\n"                                                                           \
  "Disallow: /private/\n"                                                                          \
  "Disallow: /site/2*html$\n"                                                                      \
  "Allow: /site/2.html$\n"                                                                         \
  "Crawl-delay: %s\n"

/* Parses a page name "N.html" (N canonical decimal, < SITE_PAGES). */
static bool parse_site_page(const char *name, unsigned *page) {
  size_t length = strlen(name), digits;
  char number[16];
  uint64_t n;
  if (length <= 5 || strcmp(name + length - 5, ".html") != 0)
    return false;
  digits = length - 5;
  if (digits >= sizeof(number) || (digits > 1 && name[0] == '0'))
    return false;
  memcpy(number, name, digits);
  number[digits] = '\0';
  if (!parse_decimal(number, SITE_PAGES - 1, &n))
    return false;
  *page = (unsigned)n;
  return true;
}

/* Appends the HTML of site page n (see "/site" in the header comment). */
static void add_site_page(struct evbuffer *out, const struct listener_ctx *lc, unsigned n) {
  unsigned left = 2 * n + 1, right = 2 * n + 2;
  bool broken = n % 7 == 0;
  evbuffer_add_printf(out,
                      "<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n"
                      "<title>Site page %u</title>\n",
                      n);
  if (n % 10 == 3)
    evbuffer_add_printf(out, "<base href=\"/site/b/\">\n");
  evbuffer_add_printf(out,
                      "</head>\n<body>\n<h1>Page %u</h1>\n"
                      "<!-- <a href=\"/site/comment.html\">hidden in a comment</a> -->\n"
                      "<script>var s = '<a href=\"/site/script.html\">in a script<' + '/a>';"
                      " if (1 < 2) s = '';</script>\n",
                      n);
  /* Broken markup: an unclosed <div> and <p>, unquoted attribute values, a stray "<". */
  evbuffer_add_printf(out, broken ? "<div class=broken><p>1 < 2\n" : "<p>\n");
  if (left < SITE_PAGES)
    evbuffer_add_printf(
        out, broken ? "<a href=%u.html>child %u</a>\n" : "<a href=\"%u.html\">child %u</a>\n", left,
        left);
  if (right < SITE_PAGES)
    evbuffer_add_printf(out,
                        broken ? "<a class=child href=%s://127.0.0.1:%u/site/%u.html>child %u</a>\n"
                               : "<a href=\"%s://127.0.0.1:%u/site/%u.html\">child %u</a>\n",
                        lc->scheme, lc->port, right, right);
  if (!broken)
    evbuffer_add_printf(out, "</p>\n");
  evbuffer_add_printf(
      out,
      "<p><a href=\"0.html#top\">top</a> <a href=\"./%u.html\">this page</a></p>\n"
      "<p><a href=\"mailto:x@example.com\">mail</a>"
      " <a href=\"javascript:void(0)\">script</a></p>\n"
      "<p><a rel=\"external nofollow\" href=\"/site/nofollow.html\">not to follow</a>"
      " <a href=\"/private/%u.html\">private</a></p>\n",
      n, n);
  if (n == 0)
    evbuffer_add_printf(out,
                        "<p><a href=\"/redirect-to/site/39.html\">through a redirect</a></p>\n");
  if (n == 5)
    evbuffer_add_printf(
        out,
        "<p><a href=\"%s://localhost:%u/site/5.html\">another host</a>"
        " <a href=\"%s://www.site.localhost:%u/site/5.html\">a sibling host</a></p>\n",
        lc->scheme, lc->port, lc->scheme, lc->port);
  if (n == 6)
    evbuffer_add_printf(out, "<p><a href=\"/site/data.json\">data</a></p>\n");
  evbuffer_add_printf(out, "</body>\n</html>\n");
}

/* A small page without links, for the URLs a crawler must not follow. */
static void send_leaf_page(struct evhttp_request *req, const char *name) {
  send_formatted(req, HTTP_OK, "text/html; charset=utf-8",
                 "<!DOCTYPE html>\n<html><head><title>%s</title></head>"
                 "<body><p>%s</p></body></html>\n",
                 name, name);
}

/* /padded/KIB.html and its two leaf pages (see "/padded" in the header comment). */
static void handle_padded(struct exchange *ex, const char *name) {
  struct evhttp_request *req = ex->req;
  if (strcmp(name, "first.html") == 0 || strcmp(name, "last.html") == 0) {
    send_leaf_page(req, name);
    return;
  }
  char *end = NULL;
  unsigned long kib = strtoul(name, &end, 10);
  struct evbuffer *body = NULL;
  if (!end || end == name || strcmp(end, ".html") != 0 || kib < 1 || kib > 16384 ||
      !(body = evbuffer_new())) {
    send_not_found(req);
    return;
  }
  evbuffer_add_printf(body, "<!DOCTYPE html>\n<html><head><title>padded</title></head><body>\n"
                            "<p><a href=\"first.html\">first</a></p>\n");
  static const char paragraph[] = "<p>Padding text between the first and the last link, with "
                                  "<b>some</b> markup, so that it is parsed as a page is.</p>\n";
  for (size_t written = 0; written < kib * 1024; written += sizeof paragraph - 1)
    evbuffer_add(body, paragraph, sizeof paragraph - 1);
  evbuffer_add_printf(body, "<p><a href=\"last.html\">last</a></p>\n</body></html>\n");
  evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                    "text/html; charset=utf-8");
  evhttp_send_reply(req, HTTP_OK, "OK", body);
  evbuffer_free(body);
}

/* /site/N.html, /site/b/N.html, /site/data.json and the leaf pages under /site/. */
static void handle_site(struct exchange *ex, const struct listener_ctx *lc, const char *name) {
  struct evhttp_request *req = ex->req;
  struct evbuffer *body;
  unsigned page;
  if (strcmp(name, "data.json") == 0) {
    send_formatted(req, HTTP_OK, "application/json",
                   "{\"note\":\"not HTML: never parsed for links\","
                   "\"html\":\"<a href=\\\"/site/299.html\\\">299</a>\"}\n");
    return;
  }
  if (strcmp(name, "nofollow.html") == 0 || strcmp(name, "comment.html") == 0 ||
      strcmp(name, "script.html") == 0) {
    send_leaf_page(req, name);
    return;
  }
  if (strncmp(name, "b/", 2) == 0)
    name += 2;
  if (!parse_site_page(name, &page)) {
    send_not_found(req);
    return;
  }
  body = evbuffer_new();
  if (body == NULL) {
    send_formatted(req, HTTP_INTERNAL, "text/plain", "out of memory\n");
    return;
  }
  add_site_page(body, lc, page);
  evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                    "text/html; charset=utf-8");
  send_complete_reply(req, HTTP_OK, body);
  evbuffer_free(body);
}

/* /trap/PATH: a page linking to ten pages one level deeper, which do the same. */
static void handle_trap(struct exchange *ex, const char *path) {
  struct evhttp_request *req = ex->req;
  if (strlen(path) > 4096) {
    send_not_found(req);
    return;
  }
  struct evbuffer *body = evbuffer_new();
  if (body == NULL) {
    send_formatted(req, HTTP_INTERNAL, "text/plain", "out of memory\n");
    return;
  }
  evbuffer_add_printf(body, "<!DOCTYPE html>\n<html><head><title>trap</title></head><body>\n");
  for (int i = 0; i < 10; i++)
    evbuffer_add_printf(body, "<a href=\"/trap/%s/%d\">deeper</a>\n", path, i);
  evbuffer_add_printf(body, "</body></html>\n");
  evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                    "text/html; charset=utf-8");
  send_complete_reply(req, HTTP_OK, body);
  evbuffer_free(body);
}

/* /req/NAME: the -p site (see "/req" in the header comment). */
static void handle_requisites(struct exchange *ex, const struct listener_ctx *lc,
                              const char *name) {
  struct evhttp_request *req = ex->req;
  if (strcmp(name, "index.html") == 0)
    send_formatted(
        req, HTTP_OK, "text/html; charset=utf-8",
        "<!DOCTYPE html>\n<html><head><title>requisites</title>\n"
        "<link rel=\"stylesheet\" href=\"css/main.css\">\n"
        "<link rel=\"shortcut icon\" href=\"/req/favicon.ico\">\n"
        "<script src=\"js/app.js\"></script>\n"
        "<style>body { background: url(img/block.png) }</style></head>\n"
        "<body><p><a href=\"page1.html\">page 1</a></p>\n"
        "<img src=\"img/logo.png\" srcset=\"img/logo-2x.png 2x, img/logo-3x.png 3x\">\n"
        "<video poster=\"media/poster.jpg\"><source src=\"media/clip.webm\">"
        "<track src=\"media/subs.vtt\"></video>\n<audio src=\"media/sound.ogg\"></audio>\n"
        "<object data=\"obj/frame.html\"></object><embed src=\"obj/plugin.swf\">\n"
        "<div style=\"background-image: url('img/attr.png')\">styled</div>\n"
        "<img src=\"/private/blocked.png\">\n"
        "<img src=\"%s://localhost:%u/req/img/other-host.png\">\n</body></html>\n",
        lc->scheme, lc->port);
  else if (strcmp(name, "page1.html") == 0 || strcmp(name, "page2.html") == 0)
    send_formatted(req, HTTP_OK, "text/html; charset=utf-8",
                   "<!DOCTYPE html>\n<html><body><img src=\"img/%.5s.png\">"
                   "<a href=\"page2.html\">page 2</a></body></html>\n",
                   name);
  else if (strcmp(name, "obj/frame.html") == 0)
    send_formatted(req, HTTP_OK, "text/html",
                   "<html><body><a href=\"/req/never.html\">never</a></body></html>\n");
  else if (strcmp(name, "css/main.css") == 0)
    send_formatted(req, HTTP_OK, "text/css",
                   "@import \"base.css\";\nbody { background: url(../img/bg.png) }\n"
                   "@font-face { font-family: f; src: url(\"/req/font/f.woff2\") }\n");
  else if (strcmp(name, "css/base.css") == 0)
    send_formatted(req, HTTP_OK, "text/css; charset=utf-8",
                   "/* url(/req/img/commented.png) */\n"
                   "h1 { background: url( /req/img/from-import.png ) }\n");
  else
    send_formatted(req, HTTP_OK, "application/octet-stream", "bytes\n");
}

/* One page of a /graph SPEC. */
struct graph_page {
  unsigned delay_ms;
  unsigned links[GRAPH_MAX_PAGES];
  size_t link_count;
};

/* Reads a decimal number at *text, at most max, and moves *text past it. */
static bool graph_number(const char **text, uint64_t max, uint64_t *value) {
  char digits[16];
  size_t length = strspn(*text, "0123456789");
  if (length == 0 || length >= sizeof(digits))
    return false;
  memcpy(digits, *text, length);
  digits[length] = '\0';
  *text += length;
  return parse_decimal(digits, max, value);
}

/* Parses "SPEC/N.html" (see "/graph" in the header comment) into page N's entry. */
static bool parse_graph_page(const char *path, struct graph_page *out) {
  const char *slash = strrchr(path, '/');
  unsigned page, count = 0;
  uint64_t value;
  bool found = false;
  if (slash == NULL || slash == path || !parse_site_page(slash + 1, &page))
    return false;
  for (const char *at = path; at < slash; count++) {
    struct graph_page entry = {0};
    if (count >= GRAPH_MAX_PAGES || !graph_number(&at, GRAPH_MAX_DELAY_MS, &value))
      return false;
    entry.delay_ms = (unsigned)value;
    while (*at == '-') {
      at++;
      if (!graph_number(&at, GRAPH_MAX_PAGES - 1, &value) || entry.link_count >= GRAPH_MAX_PAGES)
        return false;
      entry.links[entry.link_count++] = (unsigned)value;
    }
    if (at != slash && *at++ != '_')
      return false;
    if (count == page) {
      *out = entry;
      found = true;
    }
  }
  /* Every link must name a page of the graph. */
  for (size_t i = 0; found && i < out->link_count; i++)
    if (out->links[i] >= count)
      return false;
  return found;
}

/* Sends the /graph page the request names (it parsed before). */
static void send_graph_page(struct exchange *ex) {
  const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(ex->req));
  struct graph_page page;
  struct evbuffer *body = evbuffer_new();
  if (body == NULL || !parse_graph_page(path + strlen("/graph/"), &page)) {
    send_formatted(ex->req, HTTP_INTERNAL, "text/plain", "cannot make the page\n");
    if (body != NULL)
      evbuffer_free(body);
    return;
  }
  evbuffer_add_printf(body, "<!DOCTYPE html>\n<html><head><title>graph</title></head><body>\n");
  for (size_t i = 0; i < page.link_count; i++)
    evbuffer_add_printf(body, "<a href=\"%u.html\">page %u</a>\n", page.links[i], page.links[i]);
  evbuffer_add_printf(body, "</body></html>\n");
  evhttp_add_header(evhttp_request_get_output_headers(ex->req), "Content-Type",
                    "text/html; charset=utf-8");
  send_complete_reply(ex->req, HTTP_OK, body);
  evbuffer_free(body);
}

static void on_graph_delay_elapsed(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  send_graph_page(arg);
}

/* /graph/SPEC/N.html: page N, after its delay. */
static void handle_graph(struct exchange *ex, const char *path) {
  struct graph_page page;
  struct timeval tv;
  if (!parse_graph_page(path, &page)) {
    send_not_found(ex->req);
    return;
  }
  if (page.delay_ms == 0) {
    send_graph_page(ex);
    return;
  }
  ex->delay_timer = evtimer_new(server.base, on_graph_delay_elapsed, ex);
  if (ex->delay_timer == NULL) {
    send_formatted(ex->req, HTTP_INTERNAL, "text/plain", "out of memory\n");
    return;
  }
  tv.tv_sec = (time_t)(page.delay_ms / 1000);
  tv.tv_usec = (suseconds_t)(page.delay_ms % 1000) * 1000;
  evtimer_add(ex->delay_timer, &tv);
}

/* /redirect-to/PATH: 302 to /PATH. */
static void handle_redirect_to(struct exchange *ex, const char *path) {
  struct evhttp_request *req = ex->req;
  size_t length = strlen(path);
  char *location;
  if (length == 0) {
    send_not_found(req);
    return;
  }
  location = malloc(length + 2);
  if (location == NULL) {
    send_formatted(req, HTTP_INTERNAL, "text/plain", "out of memory\n");
    return;
  }
  location[0] = '/';
  memcpy(location + 1, path, length + 1);
  evhttp_add_header(evhttp_request_get_output_headers(req), "Location", location);
  send_formatted(req, HTTP_MOVETEMP, "text/plain", "redirect to %s\n", location);
  free(location);
}

static void handle_cookie_set(struct exchange *ex, const char *arg) {
  const char *slash = strchr(arg, '/');
  char cookie[256];
  if (slash == NULL || slash == arg ||
      snprintf(cookie, sizeof(cookie), "%.*s=%s; Path=/", (int)(slash - arg), arg, slash + 1) >=
          (int)sizeof(cookie)) {
    send_not_found(ex->req);
    return;
  }
  evhttp_add_header(evhttp_request_get_output_headers(ex->req), "Set-Cookie", cookie);
  send_formatted(ex->req, HTTP_OK, "text/plain", "set\n");
}

static void handle_redirect_host(struct exchange *ex, const struct listener_ctx *lc,
                                 const char *host) {
  char location[512];
  if (*host == '\0' || strpbrk(host, "/\r\n") != NULL ||
      snprintf(location, sizeof(location), "%s://%s:%u/headers", lc->scheme, host, lc->port) >=
          (int)sizeof(location)) {
    send_not_found(ex->req);
    return;
  }
  evhttp_add_header(evhttp_request_get_output_headers(ex->req), "Location", location);
  send_formatted(ex->req, HTTP_MOVETEMP, "text/plain", "redirect to %s\n", location);
}

/* ENCODED_PLAIN, compressed once with gzip -9 -n and zstd -19 (the server links no
 * compression library). */
#define ENCODED_PLAIN                                                                              \
  "compressed body, compressed body, compressed body, compressed body, compressed body\n"
static const unsigned char encoded_gzip[] = {
    0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0x4b, 0xce, 0xcf, 0x2d,
    0x28, 0x4a, 0x2d, 0x2e, 0x4e, 0x4d, 0x51, 0x48, 0xca, 0x4f, 0xa9, 0xd4, 0x51, 0x48,
    0xa6, 0x58, 0x80, 0x0b, 0x00, 0x89, 0x14, 0x1a, 0x39, 0x54, 0x00, 0x00, 0x00};
static const unsigned char encoded_zstd[] = {
    0x28, 0xb5, 0x2f, 0xfd, 0x24, 0x54, 0xcd, 0x00, 0x00, 0x90, 0x63, 0x6f, 0x6d,
    0x70, 0x72, 0x65, 0x73, 0x73, 0x65, 0x64, 0x20, 0x62, 0x6f, 0x64, 0x79, 0x2c,
    0x20, 0x0a, 0x01, 0x00, 0x4f, 0xd2, 0x5c, 0x02, 0xd4, 0x2f, 0xde, 0xa3};

static void handle_encoded(struct exchange *ex, const char *kind) {
  bool gzip = strcmp(kind, "gzip") == 0;
  struct evbuffer *body;
  if (!gzip && strcmp(kind, "zstd") != 0) {
    send_not_found(ex->req);
    return;
  }
  body = evbuffer_new();
  if (body == NULL) {
    send_formatted(ex->req, HTTP_INTERNAL, "text/plain", "out of memory\n");
    return;
  }
  evbuffer_add(body, gzip ? encoded_gzip : encoded_zstd,
               gzip ? sizeof(encoded_gzip) : sizeof(encoded_zstd));
  evhttp_add_header(evhttp_request_get_output_headers(ex->req), "Content-Type", "text/plain");
  evhttp_add_header(evhttp_request_get_output_headers(ex->req), "Content-Encoding", kind);
  send_complete_reply(ex->req, HTTP_OK, body);
  evbuffer_free(body);
}

static void handle_robots(struct exchange *ex) {
  server.robots++;
  switch (robots_kind) {
  case ROBOTS_DEFAULT:
    send_formatted(ex->req, HTTP_OK, "text/plain", ROBOTS_RULES, "0");
    break;
  case ROBOTS_DELAY:
    send_formatted(ex->req, HTTP_OK, "text/plain", ROBOTS_RULES, "0.2");
    break;
  case ROBOTS_MISSING:
    send_not_found(ex->req);
    break;
  case ROBOTS_ERROR:
    send_formatted(ex->req, HTTP_SERVUNAVAIL, "text/plain", "robots.txt unavailable\n");
    break;
  }
}

/* /setrobots/KIND (not counted). */
static void handle_setrobots(struct evhttp_request *req, const char *kind) {
  static const struct {
    const char *name;
    enum robots_kind kind;
  } kinds[] = {{"default", ROBOTS_DEFAULT},
               {"missing", ROBOTS_MISSING},
               {"error", ROBOTS_ERROR},
               {"delay", ROBOTS_DELAY}};
  size_t i;
  for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
    if (strcmp(kind, kinds[i].name) == 0) {
      robots_kind = kinds[i].kind;
      send_formatted(req, HTTP_OK, "application/json", "{}\n");
      return;
    }
  }
  send_not_found(req);
}

/* -------------------------------------------------------------- control */

static void handle_stats(struct evhttp_request *req) {
  send_formatted(req, HTTP_OK, "application/json",
                 "{\"in_flight\":%ld,\"max_in_flight\":%ld,\"requests\":%ld,"
                 "\"connections\":%ld,\"not_modified\":%ld,\"robots\":%ld}\n",
                 server.in_flight, server.max_in_flight, server.requests, server.connections,
                 server.not_modified, server.robots);
}

static void handle_reset(struct evhttp_request *req) {
  server.max_in_flight = server.in_flight;
  server.requests = 0;
  server.connections = 0;
  server.not_modified = 0;
  server.robots = 0;
  robots_kind = ROBOTS_DEFAULT;
  clear_flaky();
  clear_versions();
  clear_arrivals();
  clear_models();
  send_formatted(req, HTTP_OK, "application/json", "{}\n");
}

/* Routes every request on a listener (evhttp generic callback). */
static void dispatch_request(struct evhttp_request *req, void *arg) {
  const struct listener_ctx *lc = arg;
  const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
  const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
  const char *rest;
  struct exchange *ex;

  if (path == NULL)
    path = "";
  if (strcmp(path, "/stats") == 0) {
    handle_stats(req);
    return;
  }
  if (strcmp(path, "/reset") == 0) {
    handle_reset(req);
    return;
  }
  if (strcmp(path, "/arrivals") == 0) {
    handle_arrivals(req);
    return;
  }
  if ((rest = path_argument(path, "/setversion/")) != NULL) {
    handle_setversion(req, rest);
    return;
  }
  if ((rest = path_argument(path, "/setrobots/")) != NULL) {
    handle_setrobots(req, rest);
    return;
  }
  if ((rest = path_argument(path, "/model/")) != NULL) {
    handle_model(req, rest);
    return;
  }

  ex = begin_exchange(req);
  if (ex == NULL) {
    send_formatted(req, HTTP_INTERNAL, "text/plain", "out of memory\n");
    return;
  }
  if ((rest = path_argument(path, "/delay/")) != NULL)
    handle_delay(ex, rest);
  else if ((rest = path_argument(path, "/workers/")) != NULL)
    handle_workers(ex, rest);
  else if ((rest = path_argument(path, "/limit/")) != NULL)
    handle_limit(ex, rest);
  else if ((rest = path_argument(path, "/status/")) != NULL)
    handle_status(ex, rest);
  else if ((rest = path_argument(path, "/bytes/")) != NULL)
    handle_bytes(ex, rest);
  else if ((rest = path_argument(path, "/redirect/")) != NULL)
    handle_redirect(ex, lc, rest, false);
  else if ((rest = path_argument(path, "/absredirect/")) != NULL)
    handle_redirect(ex, lc, rest, true);
  else if (strcmp(path, "/headers") == 0)
    handle_headers(ex);
  else if ((rest = path_argument(path, "/manyheaders/")) != NULL)
    handle_many_headers(ex, rest);
  else if (strcmp(path, "/badutf8") == 0)
    handle_bad_utf8(ex);
  else if (strcmp(path, "/close") == 0)
    drop_exchange_connection(ex);
  else if ((rest = path_argument(path, "/flaky/")) != NULL)
    handle_flaky(ex, rest);
  else if ((rest = path_argument(path, "/file/")) != NULL)
    handle_file(ex, rest);
  else if ((rest = path_argument(path, "/binary/")) != NULL)
    handle_binary(ex, rest);
  else if ((rest = path_argument(path, "/slowbytes/")) != NULL)
    handle_slowbytes(ex, rest);
  else if ((rest = path_argument(path, "/lie/")) != NULL)
    handle_lie(ex, rest);
  else if ((rest = path_argument(path, "/dropmid/")) != NULL)
    handle_dropmid(ex, rest);
  else if ((rest = path_argument(path, "/nolength/")) != NULL)
    handle_nolength(ex, rest);
  else if ((rest = path_argument(path, "/chunked/")) != NULL)
    handle_chunked(ex, rest);
  else if ((rest = path_argument(path, "/site/")) != NULL)
    handle_site(ex, lc, rest);
  else if ((rest = path_argument(path, "/padded/")) != NULL)
    handle_padded(ex, rest);
  else if (path_argument(path, "/private/") != NULL)
    send_leaf_page(req, path);
  else if ((rest = path_argument(path, "/redirect-to/")) != NULL)
    handle_redirect_to(ex, rest);
  else if (strcmp(path, "/robots.txt") == 0)
    handle_robots(ex);
  else if ((rest = path_argument(path, "/trap/")) != NULL)
    handle_trap(ex, rest);
  else if ((rest = path_argument(path, "/req/")) != NULL)
    handle_requisites(ex, lc, rest);
  else if ((rest = path_argument(path, "/graph/")) != NULL)
    handle_graph(ex, rest);
  else if ((rest = path_argument(path, "/cookie-set/")) != NULL)
    handle_cookie_set(ex, rest);
  else if ((rest = path_argument(path, "/redirect-host/")) != NULL)
    handle_redirect_host(ex, lc, rest);
  else if ((rest = path_argument(path, "/encoded/")) != NULL)
    handle_encoded(ex, rest);
  else if (strcmp(path, "/") == 0 || path_argument(path, "/any/") != NULL ||
           query_asks_for_any(req))
    send_formatted(req, HTTP_OK, "text/plain", "any\n");
  else
    send_not_found(req);
}

/* ---------------------------------------------------------------- listeners */

/* evhttp asks for a bufferevent per accepted connection: count it, and
 * wrap it in TLS on the HTTPS listener. */
static struct bufferevent *create_connection_bufferevent(struct event_base *base, void *arg) {
  const struct listener_ctx *lc = arg;
  struct bufferevent *bev;
  SSL *ssl;

  server.connections++;
  if (lc->ssl_ctx == NULL)
    return bufferevent_socket_new(base, -1, 0); /* what evhttp uses by default */

  ssl = SSL_new(lc->ssl_ctx);
  if (ssl == NULL)
    return NULL;
  bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                       BEV_OPT_CLOSE_ON_FREE);
  if (bev == NULL) {
    SSL_free(ssl);
    return NULL;
  }
  /* Clients often close without close_notify; treat that as plain EOF. */
  bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
  return bev;
}

static SSL_CTX *create_tls_context(const char *cert_file, const char *key_file) {
  SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == NULL)
    goto fail;
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
  SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
#endif
  if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1 ||
      SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(ctx) != 1)
    goto fail;
  return ctx;
fail:
  fprintf(stderr, "test-server: cannot set up TLS with %s and %s\n", cert_file, key_file);
  ERR_print_errors_fp(stderr);
  SSL_CTX_free(ctx);
  return NULL;
}

/* Binds 127.0.0.1 on a kernel-chosen port and serves it with a new evhttp. */
static int start_listener(struct listener_ctx *lc) {
  struct sockaddr_in sin;
  socklen_t len = sizeof(sin);
  struct evconnlistener *listener;

  memset(&sin, 0, sizeof(sin));
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sin.sin_port = 0;

  lc->http = evhttp_new(server.base);
  if (lc->http == NULL)
    return -1;
  evhttp_set_allowed_methods(lc->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                           EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
                                           EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT |
                                           EVHTTP_REQ_PATCH);
  evhttp_set_gencb(lc->http, dispatch_request, lc);
  evhttp_set_bevcb(lc->http, create_connection_bufferevent, lc);

  listener = evconnlistener_new_bind(
      server.base, NULL, NULL, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE,
      LISTEN_BACKLOG, (struct sockaddr *)&sin, sizeof(sin));
  if (listener == NULL) {
    perror("test-server: bind 127.0.0.1");
    return -1;
  }
  /* From here evhttp_free() frees the listener too. */
  if (evhttp_bind_listener(lc->http, listener) == NULL) {
    evconnlistener_free(listener);
    return -1;
  }
  if (getsockname(evconnlistener_get_fd(listener), (struct sockaddr *)&sin, &len) != 0) {
    perror("test-server: getsockname");
    return -1;
  }
  lc->port = ntohs(sin.sin_port);
  return 0;
}

/* ---------------------------------------------------------------- lifecycle */

static void on_shutdown_signal(evutil_socket_t sig, short what, void *arg) {
  (void)sig;
  (void)what;
  event_base_loopexit(arg, NULL);
}

/* The harness holding our stdin went away (EOF or error): exit with it. */
static void on_stdin_readable(evutil_socket_t fd, short what, void *arg) {
  char buf[4096];
  ssize_t n = read(fd, buf, sizeof(buf));
  (void)what;
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
    event_base_loopexit(arg, NULL);
}

/* Only pipes, sockets and terminals can report EOF through the event loop;
 * /dev/null or a regular file (e.g. a shell's `cmd &`) is not watched. */
static bool stdin_is_watchable(void) {
  struct stat st;
  if (fstat(STDIN_FILENO, &st) != 0)
    return false;
  return S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode) || isatty(STDIN_FILENO);
}

static void print_usage(void) { fprintf(stderr, "usage: test-server [--tls CERT.pem KEY.pem]\n"); }

int main(int argc, char **argv) {
  struct listener_ctx plain = {.scheme = "http"};
  struct listener_ctx tls = {.scheme = "https"};
  struct event *sigterm_ev = NULL, *sigint_ev = NULL, *stdin_ev = NULL;
  bool use_tls = false;
  int status = 1;

  if (argc == 4 && strcmp(argv[1], "--tls") == 0) {
    use_tls = true;
  } else if (argc != 1) {
    print_usage();
    return 2;
  }

  /* A client that hangs up mid-write must not kill the server. */
  signal(SIGPIPE, SIG_IGN);
  memset(filler, 'x', sizeof(filler));

  server.base = event_base_new();
  server.chunk = evbuffer_new();
  if (server.base == NULL || server.chunk == NULL) {
    fprintf(stderr, "test-server: cannot create the event loop\n");
    goto out;
  }
  if (use_tls && (tls.ssl_ctx = create_tls_context(argv[2], argv[3])) == NULL)
    goto out;
  if (start_listener(&plain) != 0 || (use_tls && start_listener(&tls) != 0))
    goto out;

  sigterm_ev = evsignal_new(server.base, SIGTERM, on_shutdown_signal, server.base);
  sigint_ev = evsignal_new(server.base, SIGINT, on_shutdown_signal, server.base);
  if (sigterm_ev == NULL || sigint_ev == NULL || evsignal_add(sigterm_ev, NULL) != 0 ||
      evsignal_add(sigint_ev, NULL) != 0) {
    fprintf(stderr, "test-server: cannot watch signals\n");
    goto out;
  }
  if (stdin_is_watchable()) {
    stdin_ev =
        event_new(server.base, STDIN_FILENO, EV_READ | EV_PERSIST, on_stdin_readable, server.base);
    if (stdin_ev == NULL || event_add(stdin_ev, NULL) != 0) {
      fprintf(stderr, "test-server: cannot watch stdin\n");
      goto out;
    }
  }

  printf("http %u\n", plain.port);
  if (use_tls)
    printf("https %u\n", tls.port);
  printf("ready\n");
  fflush(stdout);

  status = event_base_dispatch(server.base) < 0 ? 1 : 0;

out:
  /* Freeing each evhttp closes its listener and connections; their close
   * callbacks end any exchanges still in progress. */
  if (plain.http != NULL)
    evhttp_free(plain.http);
  if (tls.http != NULL)
    evhttp_free(tls.http);
  while (server.exchanges != NULL)
    finish_exchange(server.exchanges);
  if (stdin_ev != NULL)
    event_free(stdin_ev);
  if (sigint_ev != NULL)
    event_free(sigint_ev);
  if (sigterm_ev != NULL)
    event_free(sigterm_ev);
  if (server.chunk != NULL)
    evbuffer_free(server.chunk);
  if (server.base != NULL)
    event_base_free(server.base);
  SSL_CTX_free(tls.ssl_ctx);
  clear_flaky();
  clear_versions();
  clear_arrivals();
  libevent_global_shutdown();
  return status;
}
