/* The run's settings, filled by cli_parse() from argv and read by every other module. */
#ifndef AFETCH_OPTIONS_H
#define AFETCH_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "afetch/frontier.h"
#include "afetch/shard.h"

struct curl_slist;
struct transfer_share;

enum afetch_output_mode {
  AFETCH_OUTPUT_GATHER, /* one JSON array, input order, written incrementally */
  AFETCH_OUTPUT_NDJSON, /* one object per line, completion order */
};

enum afetch_http_version {
  AFETCH_HTTP_DEFAULT, /* libcurl's choice: HTTP/2 over TLS when offered, else 1.1 */
  AFETCH_HTTP_1_1,
  AFETCH_HTTP_2,
};

enum afetch_progress {
  AFETCH_PROGRESS_AUTO,  /* a bar when stderr is a terminal stdout does not share, and not -q */
  AFETCH_PROGRESS_ON,    /* --progress: a bar on a terminal, status lines elsewhere */
  AFETCH_PROGRESS_BAR,   /* --progress=bar */
  AFETCH_PROGRESS_LINES, /* --progress=lines */
  AFETCH_PROGRESS_OFF,   /* --no-progress, --progress=none */
};

/* Where URL lines come from: one entry per FILE, `-`, URL argument, -i or --url, in
 * command-line order. */
enum afetch_input_kind {
  AFETCH_INPUT_FILE,  /* a file of lines (FILE, -i FILE) */
  AFETCH_INPUT_STDIN, /* standard input (`-`, -i -, or no input named at all) */
  AFETCH_INPUT_URL,   /* one URL (an argument with a scheme://, or --url URL) */
};

struct afetch_input {
  enum afetch_input_kind kind;
  const char *value; /* the path or the URL, borrowed from argv; "-" for standard input */
};

/* What a run does with --redis (one of them; none without --redis). */
enum queue_mode {
  QUEUE_MODE_NONE,
  QUEUE_MODE_ENQUEUE, /* --enqueue: the input's lines go to the queue */
  QUEUE_MODE_WORKER,  /* --worker: the queue is the input */
  QUEUE_MODE_STATUS,  /* --status: the queue's figures on stdout */
};

/* --redis and the options of its modes; the times in milliseconds, -1 when not given. */
struct queue_options {
  const char *redis_url; /* --redis URL, borrowed; NULL: no queue */
  const char *name;      /* --queue NAME, borrowed (default "afetch") */
  bool enqueue, worker, status;
  enum queue_mode mode;    /* from the three above, once the command line is read */
  long idle_exit_ms;       /* --idle-exit SEC: -1 runs until stopped */
  long reclaim_after_ms;   /* --reclaim-after SEC (default 30) */
  long redis_timeout_ms;   /* --redis-timeout SEC: -1 waits for Redis for ever */
  unsigned max_deliveries; /* --max-deliveries N: 0 until the default (5) is set */
};

struct afetch_options {
  unsigned concurrency;    /* -c: transfers in flight at most */
  unsigned threads;        /* --threads: event loops (1 = everything on the main thread);
                            * 0 = auto, see cli_auto_threads */
  long timeout_ms;         /* -t: whole transfer, per request; 0 = no limit */
  long speed_limit;        /* -Y: bytes per second that ... (0 = no such check) */
  long speed_time;         /* -y: ... a transfer may stay below for this many seconds */
  long connect_timeout_ms; /* --connect-timeout */
  enum afetch_output_mode output_mode;
  bool follow_redirects;      /* -L (default) / --no-location */
  long max_redirects;         /* --max-redirs */
  bool location_trusted;      /* --location-trusted: credentials go to every host */
  struct curl_slist *headers; /* -H, then "User-Agent: " + user_agent unless -H set one; owned */
  const char *user_agent;     /* -A, borrowed from argv (or the default string) */
  const char *method;         /* -X, borrowed; NULL = GET, or POST with -d */
  char *data;                 /* -d joined with '&' as curl does, owned; NULL = none */
  size_t data_length;
  bool insecure;      /* -k */
  const char *cacert; /* --cacert, borrowed */
  enum afetch_http_version http_version;
  bool quiet; /* -q */
  /* Network options as curl's (transfer_options.c sets them; NULL/0/false = libcurl's
   * default). Strings borrowed from argv or the config files' text. */
  const char *proxy;             /* -x */
  const char *noproxy;           /* --noproxy */
  const char *proxy_user;        /* -U: user:password */
  const char *user;              /* -u: user:password */
  const char *cookie;            /* -b: "name=value; ..." or a file of cookies */
  const char *cookie_jar;        /* --cookie-jar: written once, at the end of the run */
  struct curl_slist *resolve;    /* --resolve HOST:PORT:ADDR, owned */
  struct curl_slist *connect_to; /* --connect-to HOST1:PORT1:HOST2:PORT2, owned */
  int ip_version;                /* -4 / -6: 4 or 6; 0 = either */
  const char *interface;         /* --interface */
  const char *cert;              /* -E: client certificate[:password] */
  const char *key;               /* --key: its private key */
  const char *cert_type;         /* --cert-type: PEM, DER or P12 */
  const char *capath;            /* --capath: a directory of CA certificates */
  bool compressed;               /* --compressed: ask for and decode compressed bodies */
  uint64_t limit_rate;           /* --limit-rate: bytes per second per transfer */
  /* Cookies shared by every handle of the run (transfer_options.h); set by main.c when -b or
   * --cookie-jar is given, else NULL. */
  struct transfer_share *transfer_share;
  /* argv with the config files' options in front (owned array), and those options' words
   * (owned, NULL-terminated); NULL without config files. See cli_config.c. */
  char **config_argv;
  char **config_words;
  /* Politeness and resilience (0 = off for each). */
  unsigned retries;        /* -r: extra tries for transient failures */
  long retry_delay_ms;     /* --retry-delay: first backoff step (default 1000) */
  long retry_max_delay_ms; /* --retry-max-delay: backoff cap (default 30000) */
  bool retry_all_errors;   /* --retry-all-errors: -r retries every failed transfer */
  unsigned per_host;       /* --per-host: in flight per scheme+host+port */
  double rate_per_second;  /* --rate: request starts per second (token bucket) */
  double per_host_rate;    /* --per-host-rate: request starts per second per host */
  long per_host_delay_ms;  /* --per-host-delay: least time between two starts per host */
  bool adaptive;           /* --adaptive: each host's limit follows its latency and errors */
  long deadline_ms;        /* --deadline: the whole run */
  /* Bodies (NULL/0/false = off). */
  const char *output_dir;      /* -o: save each ok body under DIR, borrowed */
  const char *output_template; /* --output-template: names under DIR, borrowed */
  bool fsync;                  /* --fsync: files (and their directory) reach the disk */
  bool no_resume;              /* --no-resume: -o keeps no partial and sends no Range */
  const char *state_path;      /* --if-changed: validators per URL, borrowed */
  bool sha256;                 /* --sha256: the body's digest in the result */
  uint64_t max_size;           /* --max-size: body bytes at most (with --body: 1 MiB default) */
  bool body;                   /* --body: the body in the result */
  /* Crawling (--crawl; the rest only matter with it). */
  bool crawl;
  unsigned depth;            /* --depth: links followed from a seed (default 1) */
  unsigned long max_pages;   /* --max-pages: pages fetched at most, 0 = no limit */
  enum crawl_scope scope;    /* --scope (default host) */
  const char *include_regex; /* --include, borrowed */
  const char *exclude_regex; /* --exclude, borrowed */
  bool robots;               /* --robots: honour robots.txt */
  bool show_skipped;         /* --show-skipped: robots-blocked URLs get results */
  bool links;                /* --links: the list of links in each page's result */
  bool page_requisites;      /* -p: also fetch what each page shows with */
  bool span_hosts;           /* --span-hosts: requisites from any host (else the page's) */
  /* Operator output on stderr. */
  enum afetch_progress progress; /* --progress[=bar|lines|none] / --no-progress */
  long progress_interval_ms;     /* --progress-interval: between status lines (default 10 s) */
  bool stats;                    /* --stats: a summary table at the end */
  const char *stats_json_path;   /* --stats-json FILE, borrowed */
  unsigned result_fields;        /* --include-headers, --result-fields: RESULT_FIELD_* bits */
  /* The inputs in command-line order, owned; at least one (standard input when none is
   * named). */
  struct afetch_input *inputs;
  size_t input_count;
  /* Durable runs (journal.h, merge.h). */
  const char *journal_path;    /* --journal FILE, borrowed; NULL: none */
  unsigned journal_sync_every; /* --journal-sync N: fdatasync after N results (or 1 s) */
  bool merge;                  /* --merge: the FILEs are results to merge, nothing is fetched */
  /* The options given that change results, in command-line order ("--name=value" each,
   * separated by a space; inputs and options such as -c left out): what a journal records and a
   * resumed run must repeat. Owned; NULL when none was given. */
  char *result_options;
  /* --shard K/N|env and --shard-by: the lines this run takes (count 0: all of them). */
  struct shard_spec shard;
  /* --redis: a work queue shared by many processes (queue.h). */
  struct queue_options queue;
};

#endif
