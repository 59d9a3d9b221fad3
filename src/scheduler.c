/* The run: source -> a worker with a free slot -> sink, with retries, per-host limits, a
 * rate, a deadline, signals and shutdown.
 *
 * Every URL line becomes a job when it is read and stays one until its result is written.
 * A job waits in exactly one place: `ready` (may start: a retry that came due, or a job its
 * host let go), its host's `waiting` list (--per-host), `retrying` (a timer is set), or a
 * worker (in flight). Only jobs in flight hold a slot. */
#include "afetch/scheduler.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "afetch/cli.h"
#include "afetch/crawler.h"
#include "afetch/hosts.h"
#include "afetch/job.h"
#include "afetch/json_line.h"
#include "afetch/json_writer.h"
#include "afetch/limiter.h"
#include "afetch/options.h"
#include "afetch/output_name.h"
#include "afetch/progress.h"
#include "afetch/rate.h"
#include "afetch/retry.h"
#include "afetch/robots.h"
#include "afetch/sink.h"
#include "afetch/source.h"
#include "afetch/state.h"
#include "afetch/stats.h"
#include "afetch/url.h"
#include "afetch/worker.h"

/* Descriptors we may need beyond connections and the workers' own (worker_descriptors):
 * stdio, input files, the main event base, a file being downloaded, spares. */
#define SCHEDULER_SPARE_FDS 64
/* Longest "scheme://host:port" key; longer hosts go unlimited (and are rare enough). */
#define SCHEDULER_HOST_KEY_SIZE 512
/* --if-changed: how often a changed state is saved during a run (and once at its end). */
#define SCHEDULER_STATE_SAVE_SECONDS 10

struct scheduler;

/* A worker and its share of -c: the semaphore slots it may fill. */
struct scheduler_worker {
  struct scheduler *scheduler;
  struct worker *worker;
  struct limiter slots;
};

/* The signals that end a run, each with its exit status (128 + the signal, as a shell
 * reports a process killed by it). All of them end the run the same way: what is in flight
 * is reported as cancelled, the output is closed as valid JSON and state files are saved.
 * SIGHUP is among them because a closed terminal, a dropped ssh session or a cron wrapper
 * sends it to a run that must still leave its results. */
static const struct scheduler_stop_signal {
  int number;
  enum afetch_exit exit_status;
} scheduler_stop_signals[] = {
    {SIGHUP, AFETCH_EXIT_SIGHUP},
    {SIGINT, AFETCH_EXIT_SIGINT},
    {SIGTERM, AFETCH_EXIT_SIGTERM},
};
enum {
  SCHEDULER_STOP_SIGNAL_COUNT = sizeof scheduler_stop_signals / sizeof scheduler_stop_signals[0]
};

struct scheduler {
  struct event_base *base;
  const struct afetch_options *options;
  struct sink *sink;
  struct source *source;
  struct scheduler_worker *workers;
  unsigned worker_count;
  unsigned long jobs_alive; /* lines read whose result is not written yet */
  struct job_list ready;    /* may start now */
  struct job_list retrying; /* waiting for their retry timer */
  struct hosts *hosts;      /* --per-host */
  size_t jobs_parked;       /* jobs in hosts' waiting lists */
  size_t look_ahead_limit;  /* at most this many parked or retrying before reading pauses */
  struct rate_bucket rate;  /* --rate */
  struct event *rate_timer; /* wakes the pump when the bucket has a token again */
  struct event *deadline_timer;
  struct output_names *output_names; /* -o: names claimed in this run */
  struct state *state;               /* --if-changed, borrowed */
  struct event *state_timer;         /* saves a changed state now and then */
  struct crawler *crawler;           /* --crawl */
  struct stats *stats;               /* --stats, --stats-json, the progress line */
  struct progress *progress;         /* the progress line, while it is drawn */
  bool progress_shares_output;       /* the bar is on the terminal stdout writes to */
  uint64_t input_total;              /* URL lines in the inputs, 0: unknown */
  int64_t started_us;
  struct event *signal_events[SCHEDULER_STOP_SIGNAL_COUNT];
  struct json_writer json; /* results the scheduler writes itself (stopped jobs) */
  uint64_t random_state;   /* backoff jitter */
  uint64_t next_index;     /* index the next URL line will get */
  bool input_done;
  bool input_failed; /* a read error ended the input early: exit 3 once the rest is done */
  bool pumping;      /* scheduler_pump is on the stack: a nested call only asks for a rerun */
  bool pump_again;
  bool workers_stopped;
  bool deadline_passed; /* nothing starts any more; every unfinished URL gets "deadline" */
  bool finished;
  bool any_not_ok;
  enum afetch_exit stop_reason; /* set when a signal or failure stops the run early */
};

static void scheduler_pump(struct scheduler *scheduler);

static void scheduler_warn(const struct scheduler *scheduler, const char *format, ...) {
  if (scheduler->options->quiet)
    return;
  if (scheduler->progress)
    progress_clear(scheduler->progress);
  va_list args;
  va_start(args, format);
  fputs("afetch: ", stderr);
  vfprintf(stderr, format, args);
  fputc('\n', stderr);
  va_end(args);
}

/* Workers for -c `concurrency` on `threads` event loops: at most one per transfer. */
static unsigned scheduler_worker_count(unsigned concurrency, unsigned threads) {
  unsigned count = threads < concurrency ? threads : concurrency;
  return count ? count : 1;
}

/* Worker i's part of `total` split as evenly as can be between `parts` workers. */
static unsigned scheduler_worker_part(unsigned total, unsigned parts, unsigned i) {
  return total / parts + (i < total % parts);
}

/* Descriptors the workers of such a run keep open besides their connections. */
static unsigned scheduler_worker_fds(unsigned concurrency, unsigned threads) {
  unsigned count = scheduler_worker_count(concurrency, threads);
  unsigned fds = 0;
  for (unsigned i = 0; i < count; i++)
    fds += worker_descriptors(scheduler_worker_part(concurrency, count, i), threads > 1);
  return fds;
}

/* Descriptors a run at this -c needs beyond one connection per transfer: the workers', a
 * file per transfer that saves its body (-o), and the spares. */
static rlim_t scheduler_reserved_fds(const struct afetch_options *options, unsigned concurrency,
                                     unsigned threads) {
  return (rlim_t)scheduler_worker_fds(concurrency, threads) + SCHEDULER_SPARE_FDS +
         (options->output_dir ? (rlim_t)concurrency : 0);
}

unsigned long scheduler_fit_open_files(struct afetch_options *options, unsigned usable_cpus) {
  unsigned fixed_threads = options->threads;
  struct rlimit limit;
  unsigned fitting = options->concurrency;
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_max != RLIM_INFINITY) {
    /* What -c needs grows with -c (threads and shards included): the largest that fits. */
    unsigned low = 1, high = options->concurrency;
    while (low < high) {
      unsigned middle = low + (high - low + 1) / 2;
      unsigned threads = fixed_threads ? fixed_threads : cli_auto_threads(middle, usable_cpus);
      if ((rlim_t)middle + scheduler_reserved_fds(options, middle, threads) <= limit.rlim_max)
        low = middle;
      else
        high = middle - 1;
    }
    fitting = low;
  }
  bool lowered = fitting < options->concurrency;
  options->concurrency = fitting;
  if (!fixed_threads)
    options->threads = cli_auto_threads(fitting, usable_cpus);
  return lowered ? (unsigned long)limit.rlim_max : 0;
}

/* How many connections the run may keep open, busy or idle: one socket per transfer, and as
 * many again for idle keep-alive connections, so that with many hosts the next URL's host
 * often still has one (W5, 50 hosts at -c 100: 170 connections opened for 10,000 requests
 * instead of 400 to 1,700 with a cache of exactly -c). Raises the descriptor limit to match,
 * plus the descriptors reserved for other things, as far as the hard limit allows; never
 * fewer than -c (scheduler_fit_open_files lowered -c to fit). */
static unsigned scheduler_connection_budget(const struct scheduler *scheduler) {
  const struct afetch_options *options = scheduler->options;
  unsigned concurrency = options->concurrency;
  rlim_t reserved = scheduler_reserved_fds(options, concurrency, options->threads);
  rlim_t wanted = 2 * (rlim_t)concurrency + reserved;
  struct rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0)
    return concurrency;
  if (limit.rlim_cur < wanted) {
    rlim_t previous = limit.rlim_cur;
    limit.rlim_cur =
        limit.rlim_max == RLIM_INFINITY || limit.rlim_max >= wanted ? wanted : limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &limit) != 0)
      limit.rlim_cur = previous;
  }
  if (limit.rlim_cur < (rlim_t)concurrency + reserved) {
    scheduler_warn(scheduler,
                   "open-file limit %lu is below the %lu that -c %u needs; some connections "
                   "may fail",
                   (unsigned long)limit.rlim_cur, (unsigned long)(concurrency + reserved),
                   concurrency);
    return concurrency;
  }
  rlim_t budget = limit.rlim_cur - reserved;
  return budget >= 2 * (rlim_t)concurrency ? 2 * concurrency : (unsigned)budget;
}

/* --crawl: discovered pages are still to be fetched. */
static bool scheduler_crawl_pending(const struct scheduler *scheduler) {
  return scheduler->crawler && !scheduler->stop_reason && !scheduler->deadline_passed &&
         crawler_has_pages(scheduler->crawler);
}

/* Closes the output once nothing is left to come back. */
static void scheduler_finish_if_done(struct scheduler *scheduler) {
  if (scheduler->finished || scheduler->jobs_alive > 0 ||
      !(scheduler->input_done || scheduler->stop_reason) || scheduler_crawl_pending(scheduler))
    return;
  scheduler->finished = true;
  source_stop(scheduler->source);
  if (sink_finish(scheduler->sink) < 0 && !scheduler->stop_reason)
    scheduler->stop_reason = AFETCH_EXIT_INTERNAL;
  event_base_loopbreak(scheduler->base);
}

/* ---- results ------------------------------------------------------------------------- */

/* Writes a job's result and lets the job go. `json` NULL means it could not be made. */
static void scheduler_emit(struct scheduler *scheduler, struct job *job, bool ok, const char *json,
                           size_t length, const struct stats_sample *sample) {
  if (!ok)
    scheduler->any_not_ok = true;
  if (scheduler->stats && sample)
    stats_record(scheduler->stats, sample);
  bool written =
      json && length > 0 && sink_emit_json(scheduler->sink, job->index, json, length) == 0;
  if (scheduler->crawler)
    crawler_page_gone(scheduler->crawler, job);
  if (job->host)
    hosts_release(scheduler->hosts, job->host);
  job_free(job);
  scheduler->jobs_alive--;
  if (!written && !scheduler->stop_reason) {
    int error = json && length > 0 ? sink_error(scheduler->sink) : ENOMEM;
    if (error != EPIPE) /* a closed pipe (`| head`) ends the run quietly */
      scheduler_warn(scheduler, "cannot write results: %s", strerror(error));
    scheduler->stop_reason = AFETCH_EXIT_INTERNAL;
  }
}

/* Reports a job that will not run (any more): cancelled by a signal, past the deadline,
 * or blocked by robots.txt. `message` NULL: the error's usual text. */
static void scheduler_emit_not_run(struct scheduler *scheduler, struct job *job,
                                   enum result_error why, const char *message) {
  struct afetch_result result;
  job_stopped_result(job, why, &result);
  if (message)
    result.error_message = message;
  struct stats_sample sample = stats_sample_of(&result);
  result_enable_optional_keys(&result, scheduler->options);
  json_writer_reset(&scheduler->json);
  result_write_json(&result, &scheduler->json);
  scheduler_emit(scheduler, job, false, scheduler->json.data, scheduler->json.length,
                 why == RESULT_ROBOTS ? NULL : &sample);
}

static void scheduler_emit_stopped(struct scheduler *scheduler, struct job *job,
                                   enum result_error why) {
  scheduler_emit_not_run(scheduler, job, why, NULL);
}

/* A JSON line that is no usable request: its result, with its "url" if it gave one. */
static void scheduler_emit_invalid_input(struct scheduler *scheduler, struct job *job) {
  struct afetch_result result;
  job_stopped_result(job, RESULT_INVALID_INPUT, &result);
  result_enable_optional_keys(&result, scheduler->options);
  result.error_message = job->input_error;
  result.url = *job_given_url(job) ? job->url : NULL;
  json_writer_reset(&scheduler->json);
  result_write_json(&result, &scheduler->json);
  struct stats_sample sample = stats_sample_of(&result);
  scheduler_emit(scheduler, job, false, scheduler->json.data, scheduler->json.length, &sample);
}

/* A robots.txt job that will not run (it writes no result; its host keeps its reference). */
static void scheduler_drop_robots_job(struct scheduler *scheduler, struct job *job) {
  job_free(job);
  scheduler->jobs_alive--;
}

/* Every job that is not in a worker (ready, waiting for its host, waiting for a retry) is
 * reported with `why`. */
static void scheduler_flush_waiting_jobs(struct scheduler *scheduler, enum result_error why) {
  struct job_list stopped = {0};
  job_list_take_all(&stopped, &scheduler->ready);
  if (scheduler->hosts)
    hosts_take_all_waiting(scheduler->hosts, &stopped);
  scheduler->jobs_parked = 0;
  struct job *job;
  while ((job = job_list_pop_front(&scheduler->retrying))) {
    event_free(job->retry_timer);
    job->retry_timer = NULL;
    job_list_push_back(&stopped, job);
  }
  /* Ready, then parked, then retrying: gather output holds any that come early. */
  while ((job = job_list_pop_front(&stopped))) {
    if (job->is_robots)
      scheduler_drop_robots_job(scheduler, job);
    else
      scheduler_emit_stopped(scheduler, job, why);
  }
}

static void scheduler_stop_workers(struct scheduler *scheduler, enum result_error why) {
  if (scheduler->workers_stopped)
    return;
  scheduler->workers_stopped = true;
  for (unsigned i = 0; i < scheduler->worker_count; i++)
    worker_stop_all(scheduler->workers[i].worker, why);
}

/* Stops reading and cancels everything unfinished; the run ends when the cancelled results
 * are back (at once for inline workers). */
static void scheduler_stop(struct scheduler *scheduler, enum afetch_exit reason) {
  if (!scheduler->stop_reason)
    scheduler->stop_reason = reason;
  scheduler->input_done = true;
  source_stop(scheduler->source);
  scheduler_flush_waiting_jobs(scheduler, RESULT_CANCELLED);
  scheduler_stop_workers(scheduler, RESULT_CANCELLED);
  scheduler_finish_if_done(scheduler);
}

/* ---- starting jobs ------------------------------------------------------------------- */

/* The worker with the most free slots, or NULL when every slot is taken. */
static struct scheduler_worker *scheduler_pick_worker(struct scheduler *scheduler) {
  struct scheduler_worker *best = NULL;
  unsigned best_free = 0;
  for (unsigned i = 0; i < scheduler->worker_count; i++) {
    struct limiter *slots = &scheduler->workers[i].slots;
    unsigned free_slots = slots->capacity - limiter_in_use(slots);
    if (free_slots > best_free) {
      best = &scheduler->workers[i];
      best_free = free_slots;
    }
  }
  return best;
}

/* Keeps a job until its host has room. */
static void scheduler_park(struct scheduler *scheduler, struct job *job) {
  job_list_push_back(&job->host->waiting, job);
  scheduler->jobs_parked++;
}

/* "Name: value" in a new string, or NULL when out of memory. */
static char *scheduler_header_line(const char *name, const char *value) {
  size_t size = strlen(name) + 2 + strlen(value) + 1;
  char *line = malloc(size);
  if (line)
    snprintf(line, size, "%s: %s", name, value);
  return line;
}

/* -o: where the job's body goes. A URL curl cannot parse gets no file (it fails anyway). */
static bool scheduler_choose_output_path(struct scheduler *scheduler, struct job *job) {
  const struct afetch_options *options = scheduler->options;
  char name[OUTPUT_NAME_MAX + 32];
  /* A JSON line's "output" names its file like a template (and is sanitised as one). */
  const char *template = job->output_name ? job->output_name : options->output_template;
  if (!output_name_for_url(job->url, template, job->index, name, sizeof name))
    return true;
  if (!output_names_claim(scheduler->output_names, job->url, name, sizeof name))
    return false;
  size_t dir_length = strlen(options->output_dir);
  while (dir_length > 1 && options->output_dir[dir_length - 1] == '/')
    dir_length--;
  size_t size = dir_length + 1 + strlen(name) + 1;
  if (!(job->output_path = malloc(size)))
    return false;
  snprintf(job->output_path, size, "%.*s/%s", (int)dir_length, options->output_dir, name);
  return true;
}

/* --if-changed: the validators to send, when the state has them and (with -o) the file they
 * describe is still there to keep. */
static bool scheduler_add_validators(struct scheduler *scheduler, struct job *job) {
  const struct state_entry *entry = state_lookup(scheduler->state, job->url);
  if (!entry)
    return true;
  if (job->output_path && (access(job->output_path, F_OK) != 0 ||
                           (entry->file && strcmp(entry->file, job->output_path) != 0)))
    return true;
  if (entry->etag && !(job->if_none_match = scheduler_header_line("If-None-Match", entry->etag)))
    return false;
  if (entry->last_modified &&
      !(job->if_modified_since = scheduler_header_line("If-Modified-Since", entry->last_modified)))
    return false;
  return true;
}

/* What the options ask for the job's body: its file (-o) and its validators (--if-changed).
 * False when out of memory. */
static bool scheduler_prepare_body(struct scheduler *scheduler, struct job *job) {
  if (scheduler->output_names && !scheduler_choose_output_path(scheduler, job))
    return false;
  return !scheduler->state || scheduler_add_validators(scheduler, job);
}

static struct job *scheduler_setup_job(struct scheduler *scheduler, struct job *job);

/* A new job for the next input line, or NULL (input pending, ended or failed). */
static struct job *scheduler_read_job(struct scheduler *scheduler) {
  for (;;) {
    struct source_line line;
    enum source_status status = source_next(scheduler->source, &line);
    if (status == SOURCE_PENDING)
      return NULL;
    if (status == SOURCE_ERROR) {
      scheduler_warn(scheduler, "%s", source_error(scheduler->source));
      scheduler->input_failed = true;
    }
    if (status != SOURCE_LINE) {
      scheduler->input_done = true;
      return NULL;
    }
    struct job *job =
        json_line_is_object(&line) ? json_line_job(&line, scheduler->options) : job_new(&line);
    if (!job) {
      scheduler_warn(scheduler, "out of memory");
      scheduler_stop(scheduler, AFETCH_EXIT_INTERNAL);
      return NULL;
    }
    if (!scheduler->crawler) {
      scheduler->next_index = line.index + 1;
      return scheduler_setup_job(scheduler, job);
    }
    if (scheduler->deadline_passed || crawler_admit_seed(scheduler->crawler, job)) {
      /* Crawl results are numbered as pages start: seeds, then the pages found. */
      job->index = scheduler->next_index++;
      return scheduler_setup_job(scheduler, job);
    }
    job_free(job); /* a repeated seed (fetched once), or --max-pages used up */
    if (!crawler_has_budget(scheduler->crawler)) {
      scheduler->input_done = true;
      source_stop(scheduler->source);
      return NULL;
    }
  }
}

/* A new job for the next page the crawler found, or NULL. */
static struct job *scheduler_next_crawl_page(struct scheduler *scheduler) {
  bool failed;
  struct job *job = crawler_next_page(scheduler->crawler, scheduler->next_index, &failed);
  if (failed) {
    scheduler_warn(scheduler, "out of memory");
    scheduler_stop(scheduler, AFETCH_EXIT_INTERNAL);
  }
  if (!job)
    return NULL;
  scheduler->next_index++;
  return scheduler_setup_job(scheduler, job);
}

/* Counts a new job alive and gives it what the options ask: file, validators, host. NULL
 * (after a stop) when out of memory. */
static struct job *scheduler_setup_job(struct scheduler *scheduler, struct job *job) {
  scheduler->jobs_alive++;
  job->owner = scheduler;
  if (!scheduler->deadline_passed && !scheduler_prepare_body(scheduler, job)) {
    scheduler_emit_stopped(scheduler, job, RESULT_OTHER);
    scheduler_warn(scheduler, "out of memory");
    scheduler_stop(scheduler, AFETCH_EXIT_INTERNAL);
    return NULL;
  }
  char key[SCHEDULER_HOST_KEY_SIZE];
  if (scheduler->hosts && !scheduler->deadline_passed && url_host_key(job->url, key, sizeof key)) {
    job->host = hosts_acquire(scheduler->hosts, key);
    if (!job->host) {
      scheduler_emit_stopped(scheduler, job, RESULT_OTHER);
      scheduler_warn(scheduler, "out of memory");
      scheduler_stop(scheduler, AFETCH_EXIT_INTERNAL);
      return NULL;
    }
  }
  return job;
}

/* ---- hosts: robots.txt and Crawl-delay ---------------------------------------------- */

static void scheduler_on_host_wake(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  struct host *host = arg;
  struct scheduler *scheduler = host->owner;
  struct job *next = job_list_pop_front(&host->waiting);
  if (next) {
    scheduler->jobs_parked--;
    job_list_push_back(&scheduler->ready, next);
  }
  scheduler_pump(scheduler);
}

/* Crawl-delay: false (after setting the host's wake-up) while the host must still wait. */
static bool scheduler_host_delay_passed(struct scheduler *scheduler, struct host *host) {
  if (host->delay_us <= 0)
    return true;
  int64_t wait_us = host->next_start_us - rate_now_us();
  if (wait_us <= 0)
    return true;
  if (!host->wake_timer) {
    host->owner = scheduler;
    host->wake_timer = evtimer_new(scheduler->base, scheduler_on_host_wake, host);
  }
  if (host->wake_timer && !evtimer_pending(host->wake_timer, NULL)) {
    struct timeval delay = {.tv_sec = wait_us / 1000000, .tv_usec = wait_us % 1000000};
    evtimer_add(host->wake_timer, &delay);
  }
  return false;
}

/* The job that fetches a host's robots.txt (no result line of its own), or NULL after a
 * stop when out of memory. */
static struct job *scheduler_robots_job(struct scheduler *scheduler, struct host *host) {
  struct job *job = job_new_robots(host->key);
  if (!job) {
    scheduler_warn(scheduler, "out of memory");
    scheduler_stop(scheduler, AFETCH_EXIT_INTERNAL);
    return NULL;
  }
  host->robots_state = HOST_ROBOTS_FETCHING;
  /* This reference is never dropped: the host's rules stay for the whole run (one entry
   * per host crawled), so robots.txt is fetched once even when the host falls idle. */
  host->references++;
  job->host = host;
  job->owner = scheduler;
  scheduler->jobs_alive++; /* so the run waits for it, though it writes no result */
  return job;
}

/* --robots: a page its host's rules disallow. Reported only with --show-skipped, and never
 * counted against the exit status. */
static void scheduler_skip_by_robots(struct scheduler *scheduler, struct job *job,
                                     const char *rule) {
  if (!scheduler->options->show_skipped) {
    sink_skip(scheduler->sink, job->index);
    if (scheduler->crawler)
      crawler_page_gone(scheduler->crawler, job);
    if (job->host)
      hosts_release(scheduler->hosts, job->host);
    job_free(job);
    scheduler->jobs_alive--;
    return;
  }
  char message[300];
  snprintf(message, sizeof message, "robots.txt disallows it (%s)", rule);
  bool any_not_ok = scheduler->any_not_ok;
  scheduler_emit_not_run(scheduler, job, RESULT_ROBOTS, message);
  scheduler->any_not_ok = any_not_ok;
}

/* True when the host's robots.txt allows the job; else the deciding rule is in `rule`. */
static bool scheduler_robots_allow(const struct host *host, const struct job *job, char *rule,
                                   size_t rule_size) {
  char *path = url_path_and_query(job->url);
  bool allowed = !path || robots_check(host->robots, path, rule, rule_size);
  free(path);
  return allowed;
}

/* What a job that wants to start needs first. Returns the job to start now (it, or its
 * host's robots.txt); NULL when it was parked until its host can take it, or skipped. */
static struct job *scheduler_route(struct scheduler *scheduler, struct job *job) {
  if (job->input_error) {
    scheduler_emit_invalid_input(scheduler, job);
    return NULL;
  }
  struct host *host = job->host;
  if (!host || job->is_robots)
    return job;
  if (scheduler->options->robots) {
    if (host->robots_state == HOST_ROBOTS_UNKNOWN) {
      scheduler_park(scheduler, job);
      return scheduler_robots_job(scheduler, host);
    }
    if (host->robots_state == HOST_ROBOTS_FETCHING) {
      scheduler_park(scheduler, job);
      return NULL;
    }
    char rule[256];
    if (!job->robots_checked) {
      if (!scheduler_robots_allow(host, job, rule, sizeof rule)) {
        scheduler_skip_by_robots(scheduler, job, rule);
        return NULL;
      }
      job->robots_checked = true;
    }
  }
  if (!hosts_has_room(scheduler->hosts, host) || !scheduler_host_delay_passed(scheduler, host)) {
    scheduler_park(scheduler, job);
    return NULL;
  }
  return job;
}

/* The robots.txt job came back: the host's rules (RFC 9309: 4xx allows all, anything else
 * that is not a 2xx disallows all), and its pages may go on. */
static void scheduler_on_robots(struct scheduler *scheduler, struct job *job, bool ok) {
  struct host *host = job->host;
  if (ok && job->status >= 200 && job->status <= 299)
    host->robots = robots_parse(job->captured ? job->captured : "", job->captured_length, "afetch");
  else if (job->status >= 400 && job->status <= 499)
    host->robots = robots_allow_all();
  else
    host->robots = robots_disallow_all();
  if (!host->robots) {
    scheduler_warn(scheduler, "out of memory");
    scheduler_stop(scheduler, AFETCH_EXIT_INTERNAL);
    return;
  }
  host->robots_state = HOST_ROBOTS_READY;
  host->delay_us = (int64_t)(robots_crawl_delay(host->robots) * 1e6);
  scheduler->jobs_parked -= host->waiting.count;
  job_list_take_all(&scheduler->ready, &host->waiting);
}

/* The next job that may start now: one from `ready`, else a new line, else (--crawl) a page
 * found. Jobs whose host cannot take them yet are parked, and reading goes on for another
 * host, as far as the look-ahead and the gather window allow. */
static struct job *scheduler_next_startable(struct scheduler *scheduler) {
  struct job *job;
  while (!scheduler->stop_reason && (job = job_list_pop_front(&scheduler->ready)))
    if ((job = scheduler_route(scheduler, job)))
      return job;
  /* Jobs waiting for their host or for a retry hold no slot, so without this bound a dead
   * host (or a busy one) would let reading run ahead through the whole input. */
  while (!scheduler->stop_reason &&
         scheduler->jobs_parked + scheduler->retrying.count < scheduler->look_ahead_limit &&
         sink_accepts(scheduler->sink, scheduler->next_index)) {
    job = scheduler->input_done ? NULL : scheduler_read_job(scheduler);
    if (!job && scheduler_crawl_pending(scheduler))
      job = scheduler_next_crawl_page(scheduler);
    if (!job)
      return NULL;
    if ((job = scheduler_route(scheduler, job)))
      return job;
  }
  return NULL;
}

/* True when --rate lets one more request start now; otherwise the rate timer is set. */
static bool scheduler_rate_allows(struct scheduler *scheduler) {
  if (!scheduler->rate_timer)
    return true;
  int64_t wait_us = rate_bucket_wait_us(&scheduler->rate, rate_now_us());
  if (wait_us == 0)
    return true;
  if (!evtimer_pending(scheduler->rate_timer, NULL)) {
    struct timeval delay = {.tv_sec = wait_us / 1000000, .tv_usec = wait_us % 1000000};
    evtimer_add(scheduler->rate_timer, &delay);
  }
  return false;
}

static void scheduler_start(struct scheduler *scheduler, struct scheduler_worker *target,
                            struct job *job) {
  if (scheduler->rate_timer)
    rate_bucket_take(&scheduler->rate, rate_now_us());
  job->attempts++;
  if (job->host) {
    job->host->in_flight++;
    if (job->host->delay_us > 0)
      job->host->next_start_us = rate_now_us() + job->host->delay_us;
  }
  /* Take the slot first: an inline worker may hand the result back before returning. */
  limiter_try_acquire(&target->slots);
  if (!worker_submit(target->worker, job)) {
    limiter_release(&target->slots);
    if (job->host)
      job->host->in_flight--;
    scheduler_warn(scheduler, "cannot start a transfer: out of memory or a libcurl failure");
    if (job->is_robots)
      scheduler_drop_robots_job(scheduler, job);
    else
      scheduler_emit_stopped(scheduler, job, RESULT_OTHER);
    scheduler_stop(scheduler, AFETCH_EXIT_INTERNAL);
  }
}

/* After the deadline: lines still readable without waiting get their "deadline" result. */
static void scheduler_drain_after_deadline(struct scheduler *scheduler) {
  while (!scheduler->input_done && !scheduler->stop_reason &&
         sink_accepts(scheduler->sink, scheduler->next_index)) {
    struct job *job = scheduler_read_job(scheduler);
    if (!job)
      return;
    scheduler_emit_stopped(scheduler, job, RESULT_DEADLINE);
  }
}

/* Starts jobs while a slot, the rate and the hosts allow. */
static void scheduler_fill_slots(struct scheduler *scheduler) {
  if (scheduler->deadline_passed) {
    scheduler_drain_after_deadline(scheduler);
    return;
  }
  while (!scheduler->stop_reason) {
    struct scheduler_worker *target = scheduler_pick_worker(scheduler);
    if (!target || !scheduler_rate_allows(scheduler))
      return;
    struct job *job = scheduler_next_startable(scheduler);
    if (!job)
      return;
    scheduler_start(scheduler, target, job);
  }
}

/* Fills free slots, then ends the run if nothing is left. Results that come back while it
 * runs (inline workers, invalid lines) call it again: that nested call only asks for one more
 * pass, so a long run of invalid lines is a loop, not a recursion. */
static void scheduler_pump(struct scheduler *scheduler) {
  if (scheduler->pumping) {
    scheduler->pump_again = true;
    return;
  }
  scheduler->pumping = true;
  do {
    scheduler->pump_again = false;
    scheduler_fill_slots(scheduler);
  } while (scheduler->pump_again && !scheduler->stop_reason);
  scheduler->pumping = false;
  /* A failure marked on the way (the output, memory) stops the run here, where nothing of a
   * result is half written. */
  if (scheduler->stop_reason && !scheduler->workers_stopped)
    scheduler_stop(scheduler, scheduler->stop_reason);
  scheduler_finish_if_done(scheduler);
}

/* ---- retries ------------------------------------------------------------------------- */

static void scheduler_on_retry_due(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  struct job *job = arg;
  struct scheduler *scheduler = job->owner;
  job_list_remove(&scheduler->retrying, job);
  event_free(job->retry_timer);
  job->retry_timer = NULL;
  job_list_push_back(&scheduler->ready, job);
  scheduler_pump(scheduler);
}

/* The wait before the job's next try in milliseconds, or -1 for no retry: tries used up, or
 * a Retry-After longer than --retry-max-delay. */
static int64_t scheduler_retry_wait_ms(struct scheduler *scheduler, const struct job *job) {
  const struct afetch_options *options = scheduler->options;
  if (job->attempts > options->retries)
    return -1;
  /* A Retry-After of this attempt's response replaces the backoff. */
  if (job->has_retry_after && job->retry_after_attempt == job->attempts) {
    int64_t asked_ms = job->retry_after_s * 1000;
    return asked_ms <= options->retry_max_delay_ms ? asked_ms : -1;
  }
  return retry_backoff_ms(job->attempts, options->retry_delay_ms, options->retry_max_delay_ms,
                          retry_random(&scheduler->random_state));
}

/* Sets the job's retry timer. False when the timer cannot be made. */
static bool scheduler_retry_later(struct scheduler *scheduler, struct job *job, int64_t wait_ms) {
  job->retry_timer = evtimer_new(scheduler->base, scheduler_on_retry_due, job);
  struct timeval delay = {.tv_sec = wait_ms / 1000, .tv_usec = (wait_ms % 1000) * 1000};
  if (!job->retry_timer || evtimer_add(job->retry_timer, &delay) < 0) {
    if (job->retry_timer)
      event_free(job->retry_timer);
    job->retry_timer = NULL;
    return false;
  }
  job_list_push_back(&scheduler->retrying, job);
  return true;
}

/* ---- the state file ------------------------------------------------------------------ */

static void scheduler_record_validators(struct scheduler *scheduler, struct job *job) {
  struct state_entry entry = {
      .etag = job->new_etag, .last_modified = job->new_last_modified, .file = job->output_path};
  if (!state_update(scheduler->state, job->url, &entry) && !scheduler->stop_reason) {
    /* Only marked here: stopping now would cancel transfers while this result's JSON, in
     * the worker's buffer, is still to be written. scheduler_pump() stops the run. */
    scheduler_warn(scheduler, "out of memory");
    scheduler->stop_reason = AFETCH_EXIT_INTERNAL;
  }
}

/* Saves a changed state. False (after a warning) when it cannot be written. */
static bool scheduler_save_state(struct scheduler *scheduler) {
  if (!scheduler->state || !state_dirty(scheduler->state))
    return true;
  if (state_save(scheduler->state) == 0)
    return true;
  scheduler_warn(scheduler, "cannot save the state file '%s': %s", scheduler->options->state_path,
                 strerror(errno));
  return false;
}

static void scheduler_on_state_timer(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  scheduler_save_state(arg);
}

/* ---- worker results ------------------------------------------------------------------ */

/* A job's last attempt is back: a robots.txt sets its host's rules; a page gives the
 * crawler its links; every other job writes its result. */
static void scheduler_finish_job(struct scheduler *scheduler, struct job *job,
                                 const struct worker_outcome *outcome) {
  if (job->is_robots) {
    if (!scheduler->stop_reason)
      scheduler_on_robots(scheduler, job, outcome->ok);
    scheduler_drop_robots_job(scheduler, job);
    return;
  }
  if (scheduler->crawler && !scheduler->stop_reason && !scheduler->deadline_passed &&
      !crawler_page_done(scheduler->crawler, job, outcome->ok)) {
    scheduler_warn(scheduler, "out of memory");
    scheduler->stop_reason = AFETCH_EXIT_INTERNAL;
  }
  scheduler_emit(scheduler, job, outcome->ok, outcome->json, outcome->length, &outcome->sample);
}

static void scheduler_on_result(void *arg, const struct worker_outcome *outcome) {
  struct scheduler_worker *from = arg;
  struct scheduler *scheduler = from->scheduler;
  struct job *job = outcome->job;
  limiter_release(&from->slots);
  if (job->host) {
    job->host->in_flight--;
    struct job *next = job_list_pop_front(&job->host->waiting);
    if (next) {
      scheduler->jobs_parked--;
      job_list_push_back(&scheduler->ready, next);
    }
  }
  if (scheduler->state && (job->new_etag || job->new_last_modified))
    scheduler_record_validators(scheduler, job);
  bool stopping = scheduler->stop_reason || scheduler->deadline_passed;
  int64_t wait_ms = outcome->transient && !stopping ? scheduler_retry_wait_ms(scheduler, job) : -1;
  if (wait_ms < 0 || !scheduler_retry_later(scheduler, job, wait_ms))
    scheduler_finish_job(scheduler, job, outcome);
  scheduler_pump(scheduler);
}

void scheduler_input_ready(void *arg) { scheduler_pump(arg); }

static void scheduler_on_signal(evutil_socket_t signal_number, short what, void *arg) {
  (void)what;
  struct scheduler *scheduler = arg;
  for (size_t i = 0; i < SCHEDULER_STOP_SIGNAL_COUNT; i++)
    if (scheduler_stop_signals[i].number == signal_number)
      scheduler_stop(scheduler, scheduler_stop_signals[i].exit_status);
}

static void scheduler_on_rate_timer(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  scheduler_pump(arg);
}

/* --deadline: stop everything, report what is unfinished, and read what can be read without
 * waiting (regular files) to report it too. */
static void scheduler_on_deadline(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  struct scheduler *scheduler = arg;
  if (scheduler->stop_reason || scheduler->finished)
    return;
  scheduler->deadline_passed = true;
  scheduler->any_not_ok = true; /* the run did not finish: exit 1 whatever came back */
  scheduler_warn(scheduler,
                 "the deadline of %.3g s passed: unfinished URLs are reported as "
                 "\"deadline\"",
                 (double)scheduler->options->deadline_ms / 1000.0);
  source_end_at_streams(scheduler->source);
  scheduler_flush_waiting_jobs(scheduler, RESULT_DEADLINE);
  scheduler_stop_workers(scheduler, RESULT_DEADLINE);
  scheduler_pump(scheduler);
}

/* ---- set-up -------------------------------------------------------------------------- */

/* A signal ignored when afetch starts stays ignored: nohup ignores SIGHUP so that a hang-up
 * does not end the run, and a shell ignores SIGINT for a job it starts in the background. */
static bool scheduler_catch_stop_signals(struct scheduler *scheduler) {
  for (size_t i = 0; i < SCHEDULER_STOP_SIGNAL_COUNT; i++) {
    struct sigaction inherited;
    if (sigaction(scheduler_stop_signals[i].number, NULL, &inherited) == 0 &&
        inherited.sa_handler == SIG_IGN)
      continue;
    scheduler->signal_events[i] = evsignal_new(scheduler->base, scheduler_stop_signals[i].number,
                                               scheduler_on_signal, scheduler);
    if (!scheduler->signal_events[i] || evsignal_add(scheduler->signal_events[i], NULL) < 0)
      return false;
  }
  return true;
}

/* One inline worker, or --threads workers splitting -c between them. */
static bool scheduler_start_workers(struct scheduler *scheduler) {
  const struct afetch_options *options = scheduler->options;
  unsigned count = scheduler_worker_count(options->concurrency, options->threads);
  bool threaded = options->threads > 1;
  unsigned connections = scheduler_connection_budget(scheduler);
  scheduler->workers = calloc(count, sizeof *scheduler->workers);
  if (!scheduler->workers)
    return false;
  for (unsigned i = 0; i < count; i++) {
    struct scheduler_worker *slot = &scheduler->workers[i];
    unsigned share = scheduler_worker_part(options->concurrency, count, i);
    unsigned connection_share = scheduler_worker_part(connections, count, i);
    slot->scheduler = scheduler;
    limiter_init(&slot->slots, share);
    slot->worker = worker_new(scheduler->base, options, share, connection_share, threaded,
                              scheduler_on_result, slot);
    if (!slot->worker)
      return false;
    scheduler->worker_count = i + 1;
  }
  return true;
}

/* The per-host table, the rate bucket and the deadline timer, as the options ask. */
static bool scheduler_start_policies(struct scheduler *scheduler) {
  const struct afetch_options *options = scheduler->options;
  scheduler->look_ahead_limit = sink_window_for(options->concurrency);
  scheduler->random_state = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
  /* The host table serves --per-host and --robots (robots.txt and Crawl-delay per host). */
  if ((options->per_host > 0 || options->robots) &&
      !(scheduler->hosts = hosts_new(options->per_host ? options->per_host : UINT_MAX)))
    return false;
  if (options->rate_per_second > 0) {
    rate_bucket_init(&scheduler->rate, options->rate_per_second, rate_now_us());
    if (!(scheduler->rate_timer = evtimer_new(scheduler->base, scheduler_on_rate_timer, scheduler)))
      return false;
  }
  if (options->deadline_ms > 0) {
    scheduler->deadline_timer = evtimer_new(scheduler->base, scheduler_on_deadline, scheduler);
    if (!scheduler->deadline_timer)
      return false;
  }
  if (options->output_dir && !(scheduler->output_names = output_names_new()))
    return false;
  if (scheduler->state) {
    scheduler->state_timer =
        event_new(scheduler->base, -1, EV_PERSIST, scheduler_on_state_timer, scheduler);
    struct timeval every = {.tv_sec = SCHEDULER_STATE_SAVE_SECONDS};
    if (!scheduler->state_timer || evtimer_add(scheduler->state_timer, &every) < 0)
      return false;
  }
  return true;
}

struct scheduler *scheduler_new(struct event_base *base, const struct afetch_options *options,
                                struct sink *sink, struct state *state, struct frontier *frontier) {
  struct scheduler *scheduler = calloc(1, sizeof *scheduler);
  if (!scheduler)
    return NULL;
  scheduler->base = base;
  scheduler->options = options;
  scheduler->sink = sink;
  scheduler->state = state;
  json_writer_init(&scheduler->json);
  if (options->crawl && !(scheduler->crawler = crawler_new(options, frontier))) {
    free(scheduler);
    return NULL;
  }
  if (!scheduler_catch_stop_signals(scheduler) || !scheduler_start_policies(scheduler) ||
      !scheduler_start_workers(scheduler)) {
    scheduler_free(scheduler);
    return NULL;
  }
  return scheduler;
}

/* ---- progress and statistics -------------------------------------------------------- */

static void scheduler_count_progress(void *arg, struct progress_counts *counts) {
  struct scheduler *scheduler = arg;
  uint64_t in_flight = 0, bytes = 0;
  for (unsigned i = 0; i < scheduler->worker_count; i++) {
    in_flight += limiter_in_use(&scheduler->workers[i].slots);
    bytes += worker_body_bytes(scheduler->workers[i].worker);
  }
  uint64_t done = stats_results(scheduler->stats), ok = stats_ok(scheduler->stats);
  *counts = (struct progress_counts){.done = done,
                                     .total = scheduler->input_total,
                                     .in_flight = in_flight,
                                     .ok = ok,
                                     .failed = done - ok,
                                     .bytes = bytes,
                                     .hold = scheduler->progress_shares_output &&
                                             !sink_at_line_start(scheduler->sink)};
}

/* The sink's hook: a bar on the terminal the results go to is cleared before they are. */
static void scheduler_clear_progress(void *arg) {
  struct scheduler *scheduler = arg;
  progress_clear(scheduler->progress);
}

/* Starts what --stats, --stats-json and the progress line need. False when out of memory. */
static bool scheduler_start_reporting(struct scheduler *scheduler) {
  const struct afetch_options *options = scheduler->options;
  bool shares = progress_same_terminal(STDOUT_FILENO, STDERR_FILENO);
  enum progress_style style =
      progress_style_for(options->progress, options->quiet, isatty(STDERR_FILENO), shares);
  bool progress = style != PROGRESS_NONE;
  if (!progress && !options->stats && !options->stats_json_path)
    return true;
  if (!(scheduler->stats = stats_new()))
    return false;
  if (progress) {
    /* A regular file's lines can be counted up front; a pipe's or a crawl's cannot. */
    if (!options->crawl)
      scheduler->input_total = progress_count_lines(options->inputs, options->input_count);
    scheduler->progress =
        progress_new(scheduler->base, stderr, style, options->progress_interval_ms,
                     scheduler_count_progress, scheduler);
    if (!scheduler->progress)
      return false;
    scheduler->progress_shares_output = style == PROGRESS_BAR && shares;
    if (scheduler->progress_shares_output)
      sink_before_write(scheduler->sink, scheduler_clear_progress, scheduler);
  }
  return true;
}

/* The line goes; the summary comes (--stats on stderr, --stats-json to its file). False
 * when the file cannot be written. */
static bool scheduler_finish_reporting(struct scheduler *scheduler) {
  sink_before_write(scheduler->sink, NULL, NULL);
  progress_finish(scheduler->progress);
  progress_free(scheduler->progress);
  scheduler->progress = NULL;
  if (!scheduler->stats)
    return true;
  const struct afetch_options *options = scheduler->options;
  double wall = (double)(rate_now_us() - scheduler->started_us) / 1e6;
  if (options->stats)
    stats_print_table(scheduler->stats, wall, stderr);
  if (options->stats_json_path &&
      stats_write_json(scheduler->stats, wall, options->stats_json_path) != 0) {
    fprintf(stderr, "afetch: cannot write the statistics to '%s': %s\n", options->stats_json_path,
            strerror(errno));
    return false;
  }
  return true;
}

enum afetch_exit scheduler_run(struct scheduler *scheduler, struct source *source) {
  scheduler->source = source;
  scheduler->started_us = rate_now_us();
  if (!scheduler_start_reporting(scheduler)) {
    scheduler_warn(scheduler, "out of memory");
    return AFETCH_EXIT_INTERNAL;
  }
  size_t dropped = scheduler->state ? state_dropped_entries(scheduler->state) : 0;
  if (dropped)
    scheduler_warn(scheduler,
                   "the state file '%s' has %zu entr%s with an ETag or Last-Modified that cannot "
                   "be sent as a header: ignored, those URLs are fetched in full",
                   scheduler->options->state_path, dropped, dropped == 1 ? "y" : "ies");
  if (scheduler->deadline_timer) {
    long ms = scheduler->options->deadline_ms;
    struct timeval deadline = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    evtimer_add(scheduler->deadline_timer, &deadline);
  }
  scheduler_pump(scheduler);
  if (!scheduler->finished)
    event_base_dispatch(scheduler->base);
  /* What finished is recorded, also after a signal. */
  if (!scheduler_save_state(scheduler) && !scheduler->stop_reason)
    scheduler->stop_reason = AFETCH_EXIT_INTERNAL;
  if (!scheduler_finish_reporting(scheduler) && !scheduler->stop_reason)
    scheduler->stop_reason = AFETCH_EXIT_INTERNAL;
  if (scheduler->stop_reason)
    return scheduler->stop_reason;
  if (scheduler->input_failed)
    return AFETCH_EXIT_INTERNAL;
  return scheduler->any_not_ok ? AFETCH_EXIT_SOME_FAILED : AFETCH_EXIT_ALL_OK;
}

void scheduler_free(struct scheduler *scheduler) {
  if (!scheduler)
    return;
  for (unsigned i = 0; i < scheduler->worker_count; i++)
    worker_free(scheduler->workers[i].worker);
  free(scheduler->workers);
  /* Jobs left only after an early failure: free them with their timers and hosts. */
  struct job_list left = {0};
  job_list_take_all(&left, &scheduler->ready);
  job_list_take_all(&left, &scheduler->retrying);
  if (scheduler->hosts)
    hosts_take_all_waiting(scheduler->hosts, &left);
  struct job *job;
  while ((job = job_list_pop_front(&left))) {
    if (job->retry_timer)
      event_free(job->retry_timer);
    job_free(job);
  }
  hosts_free(scheduler->hosts);
  if (scheduler->rate_timer)
    event_free(scheduler->rate_timer);
  if (scheduler->deadline_timer)
    event_free(scheduler->deadline_timer);
  if (scheduler->state_timer)
    event_free(scheduler->state_timer);
  output_names_free(scheduler->output_names);
  crawler_free(scheduler->crawler);
  progress_free(scheduler->progress);
  stats_free(scheduler->stats);
  for (size_t i = 0; i < SCHEDULER_STOP_SIGNAL_COUNT; i++)
    if (scheduler->signal_events[i])
      event_free(scheduler->signal_events[i]);
  json_writer_free(&scheduler->json);
  free(scheduler);
}
