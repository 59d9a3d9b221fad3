/* The signals that end a run (SIGHUP, SIGINT, SIGTERM) as libevent signal events on the
 * caller's event base. A handler only records: it hands the signal's exit status (128 + the
 * signal, as a shell reports a process killed by it) to `on_stop`, which posts the pump. */
#ifndef AFETCH_STOP_SIGNALS_H
#define AFETCH_STOP_SIGNALS_H

struct event_base;
struct stop_signals;

typedef void (*stop_signal_fn)(void *arg, int exit_status);

/* Watches every stop signal not ignored when afetch started. NULL when out of memory or
 * when libevent cannot watch one. */
struct stop_signals *stop_signals_catch(struct event_base *base, stop_signal_fn on_stop, void *arg);

void stop_signals_free(struct stop_signals *signals);

/* For work without an event loop (--merge): catches the same signals (not one ignored when
 * afetch started) with a handler that only records the first; interrupted reads and writes
 * restart. The work asks stop_signals_caught() between steps: that signal's exit status, 0
 * while none came. */
void stop_signals_catch_plain(void);
int stop_signals_caught(void);

#endif
