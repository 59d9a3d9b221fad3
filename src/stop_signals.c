/* The signals that end a run, as libevent signal events. */
#include "afetch/stop_signals.h"

#include <signal.h>
#include <stdlib.h>

#include <event2/event.h>

#include "afetch/scheduler.h"

/* Each signal with its exit status. All of them end the run the same way: what is in flight
 * is reported as cancelled, the output is closed as valid JSON and state files are saved.
 * SIGHUP is among them because a closed terminal, a dropped ssh session or a cron wrapper
 * sends it to a run that must still leave its results. */
static const struct stop_signal {
  int number;
  enum afetch_exit exit_status;
} stop_signal_table[] = {
    {SIGHUP, AFETCH_EXIT_SIGHUP},
    {SIGINT, AFETCH_EXIT_SIGINT},
    {SIGTERM, AFETCH_EXIT_SIGTERM},
};
enum { STOP_SIGNAL_COUNT = sizeof stop_signal_table / sizeof stop_signal_table[0] };

struct stop_signals {
  struct event *events[STOP_SIGNAL_COUNT];
  stop_signal_fn on_stop;
  void *arg;
};

static void stop_signals_on_signal(evutil_socket_t signal_number, short what, void *arg) {
  (void)what;
  struct stop_signals *signals = arg;
  for (size_t i = 0; i < STOP_SIGNAL_COUNT; i++)
    if (stop_signal_table[i].number == signal_number)
      signals->on_stop(signals->arg, (int)stop_signal_table[i].exit_status);
}

/* A signal ignored when afetch starts stays ignored: nohup ignores SIGHUP so that a hang-up
 * does not end the run, and a shell ignores SIGINT for a job it starts in the background. */
struct stop_signals *stop_signals_catch(struct event_base *base, stop_signal_fn on_stop,
                                        void *arg) {
  struct stop_signals *signals = calloc(1, sizeof *signals);
  if (!signals)
    return NULL;
  signals->on_stop = on_stop;
  signals->arg = arg;
  for (size_t i = 0; i < STOP_SIGNAL_COUNT; i++) {
    struct sigaction inherited;
    if (sigaction(stop_signal_table[i].number, NULL, &inherited) == 0 &&
        inherited.sa_handler == SIG_IGN)
      continue;
    signals->events[i] =
        evsignal_new(base, stop_signal_table[i].number, stop_signals_on_signal, signals);
    if (!signals->events[i] || evsignal_add(signals->events[i], NULL) < 0) {
      stop_signals_free(signals);
      return NULL;
    }
  }
  return signals;
}

void stop_signals_free(struct stop_signals *signals) {
  if (!signals)
    return;
  for (size_t i = 0; i < STOP_SIGNAL_COUNT; i++)
    if (signals->events[i])
      event_free(signals->events[i]);
  free(signals);
}

/* The exit status of the first stop signal stop_signals_catch_plain() caught. */
static volatile sig_atomic_t stop_signals_first;

static void stop_signals_record(int signal_number) {
  for (size_t i = 0; i < STOP_SIGNAL_COUNT; i++)
    if (stop_signal_table[i].number == signal_number && !stop_signals_first)
      stop_signals_first = (sig_atomic_t)stop_signal_table[i].exit_status;
}

void stop_signals_catch_plain(void) {
  struct sigaction action = {.sa_handler = stop_signals_record, .sa_flags = SA_RESTART};
  sigemptyset(&action.sa_mask);
  for (size_t i = 0; i < STOP_SIGNAL_COUNT; i++) {
    struct sigaction inherited;
    if (sigaction(stop_signal_table[i].number, NULL, &inherited) == 0 &&
        inherited.sa_handler == SIG_IGN)
      continue;
    sigaction(stop_signal_table[i].number, &action, NULL);
  }
}

int stop_signals_caught(void) { return (int)stop_signals_first; }
