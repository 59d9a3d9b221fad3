/* The libevent <-> libcurl multi glue: the rest of afetch adds easy handles and hears when
 * each one is done; curl's sockets and timers stay in here. */
#ifndef AFETCH_LOOP_H
#define AFETCH_LOOP_H

#include <curl/curl.h>

struct event_base;
struct loop;

/* Called once per finished transfer, after the handle has left the multi handle, so the
 * callee may reuse it, add new handles, or free it. Never called from inside libcurl. */
typedef void (*loop_done_fn)(void *arg, CURL *easy, CURLcode code);

/* The event base must outlive the loop. The connection cache keeps `max_connections` (the
 * loop's share of the run's connection budget, busy and idle): curl's default, 4x the
 * handles attached at the moment, shrinks and closes reusable connections whenever the loop
 * briefly runs few transfers. NULL when libcurl or libevent fail. */
struct loop *loop_new(struct event_base *base, unsigned max_connections, loop_done_fn on_done,
                      void *arg);

/* Starts a transfer; the handle is the caller's, borrowed until on_done or loop_remove. */
CURLMcode loop_add(struct loop *loop, CURL *easy);

/* Abandons a transfer in progress (no on_done for it). */
void loop_remove(struct loop *loop, CURL *easy);

/* Removes nothing: call after every handle has been removed or finished. */
void loop_free(struct loop *loop);

#endif
