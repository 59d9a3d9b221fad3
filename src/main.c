/* afetch: wires the modules together; the logic lives in them. */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include <fcntl.h>
#include <langinfo.h>
#include <locale.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "afetch/cli.h"
#include "afetch/commit.h"
#include "afetch/crawl_source.h"
#include "afetch/frontier.h"
#include "afetch/input_source.h"
#include "afetch/journal.h"
#include "afetch/merge.h"
#include "afetch/open_files.h"
#include "afetch/options.h"
#include "afetch/queue_enqueue.h"
#include "afetch/queue_status.h"
#include "afetch/queue_worker.h"
#include "afetch/scheduler.h"
#include "afetch/sink.h"
#include "afetch/state.h"
#include "afetch/transfer_options.h"
#include "afetch/work_source.h"

/* Started with fd 0, 1 or 2 closed, the event loop's descriptor or a file afetch opens would
 * take that number and be read as URL input, or get the JSON or the warnings: /dev/null
 * fills the gap (an empty input, a discarded output). */
static void main_fill_closed_stdio(void) {
  for (int wanted = STDIN_FILENO; wanted <= STDERR_FILENO; wanted++) {
    if (fcntl(wanted, F_GETFD) >= 0)
      continue;
    int fd = open("/dev/null", wanted == STDIN_FILENO ? O_RDONLY : O_WRONLY);
    if (fd > wanted)
      close(fd);
  }
}

/* libcurl (through libidn2) converts an internationalised host name from the character set
 * of the locale, and afetch's input is UTF-8 whatever the environment says (cron runs in
 * "C"). So the character type, and only it, becomes UTF-8: C.UTF-8 first, whose classes
 * and case mapping of single bytes are exactly those of "C" (the environment's own locale
 * might fold case otherwise, as tr_TR does with 'I'); else the environment's, if it is UTF-8.
 * Numbers, messages and collation stay "C". */
static void main_use_utf8_characters(void) {
  if (setlocale(LC_CTYPE, "C.UTF-8"))
    return;
  if (setlocale(LC_CTYPE, "") && strcmp(nl_langinfo(CODESET), "UTF-8") == 0)
    return;
  setlocale(LC_CTYPE, "C");
}

/* With --rate, timers wake on time (timerfd) rather than to epoll's millisecond, so starts come
 * evenly spaced (docs/design.md, "Measured choices"). Without it, curl's frequent timer changes
 * would cost a system call each, for nothing. */
static struct event_base *main_new_event_base(const struct afetch_options *options) {
  if (options->rate_per_second <= 0)
    return event_base_new();
  struct event_config *config = event_config_new();
  if (!config)
    return NULL;
  event_config_set_flag(config, EVENT_BASE_FLAG_PRECISE_TIMER);
  struct event_base *base = event_base_new_with_config(config);
  event_config_free(config);
  return base;
}

/* CPUs this process may run on (taskset, cgroup cpusets), else the online ones. */
static unsigned main_usable_cpus(void) {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
    return (unsigned)CPU_COUNT(&set);
  long online = sysconf(_SC_NPROCESSORS_ONLN);
  return online > 0 ? (unsigned)online : 1;
}

/* Read from a terminal, afetch would sit silent (or show "0 done") until URLs are typed:
 * say where it reads from, as aria2 and others do. Only when the terminal is the first input:
 * after a FILE, the notice would come before that FILE's results, long before any typing. */
static void main_tell_when_reading_a_terminal(const struct afetch_options *options) {
  if (!options->quiet && options->inputs[0].kind == AFETCH_INPUT_STDIN && isatty(STDIN_FILENO))
    fprintf(stderr, "afetch: reading URLs from standard input, one per line (Ctrl-D ends the "
                    "list; see afetch --help)\n");
}

/* --journal: a line an earlier run committed is not fetched again. */
static bool main_committed_earlier(const void *journal, uint64_t index) {
  return journal_committed(journal, index);
}

/* --crawl: the crawl seeded from the input (resumed from the journal); else the input itself,
 * its committed lines passed over. NULL (the input freed) after a message, with the exit
 * status in *status. */
static struct work_source *main_source_from(const struct afetch_options *options,
                                            struct frontier *frontier,
                                            const struct journal *journal,
                                            struct work_source *input, int *status) {
  if (!options->crawl) {
    if (journal)
      input_source_skip_if(input, main_committed_earlier, journal);
    return input;
  }
  char error[512];
  struct work_source *crawl =
      crawl_source_new(options, frontier, input, journal, error, sizeof error);
  if (!crawl) {
    work_source_free(input);
    *status = *error ? AFETCH_EXIT_USAGE : AFETCH_EXIT_INTERNAL;
    fprintf(stderr, "afetch: %s\n", *error ? error : "cannot start: out of memory");
  }
  return crawl;
}

/* --worker: the queue is the input; what is on the output is acknowledged, also after the
 * run. The exit status. */
static int main_run_worker(const struct afetch_options *options, struct event_base *base,
                           struct scheduler *scheduler, const struct sink *sink,
                           struct frontier *frontier) {
  char error[512];
  struct output_watch watch;
  struct work_source *source = queue_worker_new(
      base, options, frontier, scheduler_wake_event(scheduler), &watch, error, sizeof error);
  if (!source || !scheduler_watch_output(scheduler, &watch)) {
    fprintf(stderr, "afetch: %s\n", source ? "cannot start: out of memory" : error);
    work_source_free(source);
    return AFETCH_EXIT_INTERNAL;
  }
  int status = scheduler_run(scheduler, &source, 1);
  if (!queue_worker_finish(source, base, sink_error(sink) == 0) &&
      (status == AFETCH_EXIT_ALL_OK || status == AFETCH_EXIT_SOME_FAILED))
    status = AFETCH_EXIT_INTERNAL;
  work_source_free(source);
  return status;
}

/* Opens the input (and the crawl over it) and runs the scheduler over it: the exit status. */
static int main_run(const struct afetch_options *options, struct event_base *base,
                    struct scheduler *scheduler, struct frontier *frontier,
                    const struct journal *journal) {
  char error[512];
  struct work_source *source =
      input_source_open(base, options, scheduler_wake_event(scheduler), error, sizeof error);
  if (!source) {
    /* Not a usage error: the command line was right, the file is missing or unreadable. */
    fprintf(stderr, "afetch: %s\n", error);
    return AFETCH_EXIT_USAGE;
  }
  int status;
  if (!(source = main_source_from(options, frontier, journal, source, &status)))
    return status;
  main_tell_when_reading_a_terminal(options);
  status = scheduler_run(scheduler, &source, 1);
  work_source_free(source);
  return status;
}

/* -c within the hard open-file limit, said unless -q. */
static void main_fit_open_files(struct afetch_options *options) {
  unsigned asked_concurrency = options->concurrency;
  unsigned long hard_limit = open_files_fit(options, main_usable_cpus());
  if (hard_limit && !options->quiet)
    fprintf(stderr,
            "afetch: the hard open-file limit (%lu) leaves room for -c %u, not -c %u: running "
            "with -c %u\n",
            hard_limit, options->concurrency, asked_concurrency, options->concurrency);
}

/* --cookie-jar: written once, at the end of the run, also of one a signal ended. Returns the
 * run's exit status, made 3 when the jar could not be written. */
static int main_save_cookies(const struct afetch_options *options, int status) {
  if (options->cookie_jar &&
      !transfer_share_save_cookies(options->transfer_share, options->cookie_jar, stderr) &&
      (status == AFETCH_EXIT_ALL_OK || status == AFETCH_EXIT_SOME_FAILED))
    return AFETCH_EXIT_INTERNAL;
  return status;
}

/* What a run opens before anything is fetched, and may refuse (exit 2). */
struct main_settings {
  struct state *state;       /* --if-changed */
  struct frontier *frontier; /* --crawl */
  struct journal *journal;   /* --journal */
};

/* Opens what the options name. AFETCH_EXIT_ALL_OK, or AFETCH_EXIT_USAGE after saying why. */
static int main_open_settings(struct afetch_options *options, struct main_settings *settings) {
  char error[512];
  if (transfer_share_wanted(options) &&
      !(options->transfer_share = transfer_share_new(options, stderr)))
    return AFETCH_EXIT_USAGE; /* an unreadable -b file: said why */
  bool usable = (!options->state_path ||
                 (settings->state = state_load(options->state_path, error, sizeof error))) &&
                (!options->journal_path ||
                 (settings->journal = journal_open(options, error, sizeof error))) &&
                (!options->crawl ||
                 (settings->frontier = frontier_new(options->scope, options->include_regex,
                                                    options->exclude_regex, error, sizeof error)));
  if (usable)
    return AFETCH_EXIT_ALL_OK;
  fprintf(stderr, "afetch: %s\n", error);
  /* A bad --include/--exclude is the command line's fault; a state file or journal that
   * cannot be read, is refused or is in use by another run is not. */
  if ((!options->state_path || settings->state) && (!options->journal_path || settings->journal))
    cli_print_usage_hint(stderr);
  return AFETCH_EXIT_USAGE;
}

/* The run itself, once libcurl is set up: its exit status. */
static int main_fetch(struct afetch_options *options) {
  struct main_settings settings = {0};
  int status = main_open_settings(options, &settings);
  struct event_base *base = status == AFETCH_EXIT_ALL_OK ? main_new_event_base(options) : NULL;
  struct sink *sink = base ? sink_new(base, STDOUT_FILENO, options->output_mode,
                                      sink_window_for(options->concurrency))
                           : NULL;
  struct scheduler *scheduler =
      sink ? scheduler_new(base, options, sink, settings.state, settings.journal) : NULL;
  if (status == AFETCH_EXIT_ALL_OK && !scheduler) {
    fprintf(stderr, "afetch: cannot start: out of memory or libcurl/libevent failure\n");
    status = AFETCH_EXIT_INTERNAL;
  } else if (scheduler) {
    status = main_save_cookies(
        options, options->queue.mode == QUEUE_MODE_WORKER
                     ? main_run_worker(options, base, scheduler, sink, settings.frontier)
                     : main_run(options, base, scheduler, settings.frontier, settings.journal));
  }
  scheduler_free(scheduler);
  sink_free(sink);
  state_free(settings.state);
  journal_close(settings.journal);
  frontier_free(settings.frontier);
  transfer_share_free(options->transfer_share); /* after every handle that used it */
  if (base)
    event_base_free(base);
  return status;
}

int main(int argc, char **argv) {
  main_fill_closed_stdio();
  main_use_utf8_characters();
  struct afetch_options options;
  switch (cli_parse(&options, argc, argv, stdout, stderr)) {
  case CLI_EXIT_OK:
    return fflush(stdout) == 0 ? AFETCH_EXIT_ALL_OK : AFETCH_EXIT_INTERNAL;
  case CLI_EXIT_USAGE:
    return AFETCH_EXIT_USAGE;
  case CLI_RUN:
    break;
  }
  if (options.merge) {
    signal(SIGPIPE, SIG_IGN); /* a closed stdout ends the merge with EPIPE */
    int merged = merge_run(&options);
    cli_options_free(&options);
    return merged;
  }
  main_fit_open_files(&options);
  /* Writes to a closed pipe must come back as EPIPE, not kill us mid-JSON; a file over
   * RLIMIT_FSIZE as EFBIG (a "write" result), not kill us mid-download. */
  signal(SIGPIPE, SIG_IGN);
  signal(SIGXFSZ, SIG_IGN);
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    fprintf(stderr, "afetch: libcurl failed to initialise\n");
    cli_options_free(&options);
    return AFETCH_EXIT_INTERNAL;
  }

  int status = options.queue.mode == QUEUE_MODE_ENQUEUE  ? queue_enqueue_run(&options)
               : options.queue.mode == QUEUE_MODE_STATUS ? queue_status_run(&options)
                                                         : main_fetch(&options);
  curl_global_cleanup();
  cli_options_free(&options);
  return status;
}
