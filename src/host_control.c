/* A host's pause and, with --adaptive, its AIMD concurrency limit (docs/design.md, "Adaptive
 * politeness", states the rule). */
#include "afetch/host_control.h"

#include <math.h>

/* The baseline is the least latency over the current and the previous window: old enough
 * minima drop out, so a host that got slower for good gets a new baseline. */
#define HOST_CONTROL_WINDOW_US (10 * INT64_C(1000000))
/* "Near the baseline": the limit grows while latency <= base * 1.2 + 1 ms. */
#define HOST_CONTROL_NEAR_RATIO 1.2
#define HOST_CONTROL_NEAR_SLACK_US 1000
/* "Well above": the limit shrinks when latency > base * 1.5 + 2 ms. The absolute slacks keep
 * sub-millisecond hosts (where scheduling noise is the latency) from shrinking on noise. */
#define HOST_CONTROL_HIGH_RATIO 1.5
#define HOST_CONTROL_HIGH_SLACK_US 2000
/* Multiplicative decreases: on latency, and on a 429/503, connect failure or timeout. */
#define HOST_CONTROL_LATENCY_DECREASE 0.75f
#define HOST_CONTROL_ERROR_DECREASE 0.5f
/* Near the limit that drew the last 429/503 the additive step is this many times smaller:
 * the level that failed is probed again seldom, not every few rounds. */
#define HOST_CONTROL_PLATEAU_SLOWDOWN 8.0f

void host_control_init(struct host_control *control, int64_t now_us) {
  *control = (struct host_control){.limit = HOST_CONTROL_START_LIMIT,
                                   .window_start_us = now_us,
                                   .baseline_us = {UINT32_MAX, UINT32_MAX}};
}

uint32_t host_control_baseline_us(const struct host_control *control) {
  uint32_t least = control->baseline_us[0] < control->baseline_us[1] ? control->baseline_us[0]
                                                                       : control->baseline_us[1];
  return least == UINT32_MAX ? 0 : least;
}

unsigned host_control_limit(const struct host_control *control, unsigned cap) {
  unsigned limit = control->limit < 1.0f ? 1u : (unsigned)control->limit;
  return limit < cap ? limit : cap;
}

/* The pause a 429/503 or a run of unreached tries sets: its Retry-After (capped), else the
 * backoff step, which doubles until an answer resets it. An attempt that was on its way
 * when the latest pause was set takes no further step (its answer is old news). */
static int64_t host_control_pause_us(struct host_control *control,
                                     const struct host_observation *seen) {
  if (seen->has_retry_after)
    return seen->retry_after_s >= HOST_CONTROL_PAUSE_MAX_US / 1000000
               ? HOST_CONTROL_PAUSE_MAX_US
               : (seen->retry_after_s > 0 ? seen->retry_after_s * 1000000 : 0);
  if (control->pause_started_us && seen->started_us < control->pause_started_us)
    return 0;
  int64_t pause_us = control->next_pause_ms ? (int64_t)control->next_pause_ms * 1000
                                            : HOST_CONTROL_PAUSE_FIRST_US;
  int64_t next_us = 2 * pause_us < HOST_CONTROL_PAUSE_MAX_US ? 2 * pause_us
                                                            : HOST_CONTROL_PAUSE_MAX_US;
  control->next_pause_ms = (uint32_t)(next_us / 1000);
  return pause_us;
}

/* Lowers the limit by `factor`, once per round: an attempt that started before the latest
 * decrease saw the old limit's load and is no new sign. */
static void host_control_decrease(struct host_control *control, const struct host_observation *seen,
                                  int64_t now_us, float factor) {
  if (control->decreased_us && seen->started_us < control->decreased_us)
    return;
  control->limit *= factor;
  if (control->limit < 1.0f)
    control->limit = 1.0f;
  control->decreased_us = now_us;
}

/* The windowed least latency, with this answer's. */
static void host_control_note_latency(struct host_control *control, int64_t latency_us,
                                      int64_t now_us) {
  if (now_us - control->window_start_us >= HOST_CONTROL_WINDOW_US) {
    control->baseline_us[1] = control->baseline_us[0];
    control->baseline_us[0] = UINT32_MAX;
    control->window_start_us = now_us;
  }
  uint32_t latency = latency_us >= UINT32_MAX ? UINT32_MAX - 1 : (uint32_t)latency_us;
  if (latency < control->baseline_us[0])
    control->baseline_us[0] = latency;
}

/* An answer: grow while latency stays near the baseline and the host used its limit (slow
 * start doubles per round until the first decrease, then one per round, slower near the
 * level of the last 429/503); shrink when latency is well above the baseline. */
static void host_control_answer(struct host_control *control, const struct host_observation *seen,
                                int64_t now_us, unsigned cap) {
  if (seen->latency_us <= 0) /* no time measured: no evidence either way */
    return;
  host_control_note_latency(control, seen->latency_us, now_us);
  double base = host_control_baseline_us(control);
  if ((double)seen->latency_us > base * HOST_CONTROL_HIGH_RATIO + HOST_CONTROL_HIGH_SLACK_US) {
    host_control_decrease(control, seen, now_us, HOST_CONTROL_LATENCY_DECREASE);
    return;
  }
  if ((double)seen->latency_us > base * HOST_CONTROL_NEAR_RATIO + HOST_CONTROL_NEAR_SLACK_US ||
      (float)seen->in_flight < floorf(control->limit))
    return;
  float step = control->decreased_us ? 1.0f / control->limit : 1.0f;
  if (control->busy_limit > 0.0f && floorf(control->limit) + 1.0f >= floorf(control->busy_limit))
    step /= HOST_CONTROL_PLATEAU_SLOWDOWN;
  control->limit += step;
  if (control->limit > (float)cap)
    control->limit = (float)cap;
}

int64_t host_control_observe(struct host_control *control, const struct host_observation *seen,
                             int64_t now_us, unsigned adaptive_cap) {
  int64_t pause_us = 0;
  switch (seen->signal) {
  case HOST_SIGNAL_ANSWER:
    control->unreached_run = 0;
    control->next_pause_ms = 0;
    if (adaptive_cap)
      host_control_answer(control, seen, now_us, adaptive_cap);
    break;
  case HOST_SIGNAL_BUSY:
    pause_us = host_control_pause_us(control, seen);
    if (adaptive_cap) {
      if (!control->decreased_us || seen->started_us >= control->decreased_us)
        control->busy_limit = control->limit;
      host_control_decrease(control, seen, now_us, HOST_CONTROL_ERROR_DECREASE);
    }
    break;
  case HOST_SIGNAL_UNREACHED:
    if (++control->unreached_run >= HOST_CONTROL_UNREACHED_RUN) {
      control->unreached_run = 0;
      pause_us = host_control_pause_us(control, seen);
    }
    if (adaptive_cap)
      host_control_decrease(control, seen, now_us, HOST_CONTROL_ERROR_DECREASE);
    break;
  case HOST_SIGNAL_NONE:
    break;
  }
  if (pause_us <= 0 || now_us + pause_us <= control->pause_until_us)
    return 0;
  control->pause_until_us = now_us + pause_us;
  control->pause_started_us = now_us;
  return control->pause_until_us;
}
