/* A host's adaptive politeness, as arithmetic on explicit times: the host-wide pause (a 429 or
 * 503, with or without Retry-After, or a run of connect failures and timeouts) and, with
 * --adaptive, the host's concurrency limit moved by AIMD on its latency and errors. hosts.c
 * keeps one per host and asks it; the rule and its constants are in docs/design.md.
 *
 * Times are microseconds on the hosts' clock, passed in so the unit tests drive them. */
#ifndef AFETCH_HOST_CONTROL_H
#define AFETCH_HOST_CONTROL_H

#include <stdbool.h>
#include <stdint.h>

/* The longest pause a Retry-After or the backoff sets (a longer Retry-After is cut to it). */
#define HOST_CONTROL_PAUSE_MAX_US (60 * INT64_C(1000000))
/* The pause a 429/503 without Retry-After (or a run of unreached tries) sets the first time;
 * it doubles with each such pause that comes before an answer that is no sign of trouble. */
#define HOST_CONTROL_PAUSE_FIRST_US INT64_C(1000000)
/* Connect failures or timeouts in a row (no answer between) that pause the host. */
#define HOST_CONTROL_UNREACHED_RUN 3
/* --adaptive: the limit a host starts with. */
#define HOST_CONTROL_START_LIMIT 2

/* What one finished attempt says about its host. */
enum host_signal {
  HOST_SIGNAL_ANSWER,    /* a response that is no sign of overload */
  HOST_SIGNAL_BUSY,      /* 429 or 503: the server asks to slow down */
  HOST_SIGNAL_UNREACHED, /* a connect failure or a timeout */
  HOST_SIGNAL_NONE,      /* nothing about the host (cancelled, DNS, a bad URL) */
};

struct host_observation {
  enum host_signal signal;
  int64_t latency_us;     /* ANSWER: time to the first byte */
  int64_t started_us;     /* when the attempt started */
  unsigned in_flight;     /* the host's transfers in flight, this one included */
  bool has_retry_after;   /* BUSY: the response's Retry-After */
  int64_t retry_after_s;
};

struct host_control {
  int64_t pause_until_us;   /* no start before this; 0: never paused */
  int64_t pause_started_us; /* when the latest pause was set */
  int64_t decreased_us;     /* --adaptive: the latest decrease (0: none yet: slow start) */
  int64_t window_start_us;  /* --adaptive: the baseline's current window began */
  uint32_t baseline_us[2];  /* least latency in the current and the previous window */
  float limit;              /* --adaptive: the concurrency limit, fractional */
  float busy_limit;         /* --adaptive: the limit when the last 429/503 came (0: none) */
  uint32_t next_pause_ms;   /* the next pause without Retry-After (0: the first) */
  uint8_t unreached_run;    /* connect failures and timeouts in a row */
};

/* A host seen for the first time, at `now_us`. */
void host_control_init(struct host_control *control, int64_t now_us);

/* The pause end the observation asks for (a time after now_us), or 0 when it asks for none
 * or for none longer than the current one. With --adaptive (`adaptive_cap` > 0) the limit
 * moves too, never above the cap. */
int64_t host_control_observe(struct host_control *control, const struct host_observation *seen,
                             int64_t now_us, unsigned adaptive_cap);

/* --adaptive: the host's limit now, between 1 and `cap`. */
unsigned host_control_limit(const struct host_control *control, unsigned cap);

/* The least latency of the window (the baseline), 0 before the first answer. */
uint32_t host_control_baseline_us(const struct host_control *control);

#endif
