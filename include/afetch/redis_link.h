/* One asynchronous connection to Redis on afetch's event base (hiredis' libevent adapter):
 * it logs in (AUTH, SELECT), reconnects with backoff when Redis goes away or refuses, and
 * gives up after --redis-timeout without Redis (no connection, or a command unanswered that
 * long). No call blocks; everything happens in the base's callbacks.
 *
 * Threading: the thread that runs the event base (the scheduler's). */
#ifndef AFETCH_REDIS_LINK_H
#define AFETCH_REDIS_LINK_H

#include <stdbool.h>
#include <stddef.h>

#include <hiredis/async.h>

struct event_base;
struct redis_address;
struct redis_link;

enum redis_link_state {
  REDIS_LINK_DOWN,   /* connecting, logging in or waiting to reconnect */
  REDIS_LINK_READY,  /* commands may be sent */
  REDIS_LINK_FAILED, /* no Redis for longer than the timeout: given up for good */
};

/* Called when the state changes (and a connection is lost: the commands sent on it were
 * answered with NULL replies before this). */
typedef void (*redis_link_changed_fn)(void *arg);

/* Connects at once. `address` is copied; `timeout_ms` -1: never give up; `quiet`: no
 * messages on stderr. NULL when out of memory. */
struct redis_link *redis_link_new(struct event_base *base, const struct redis_address *address,
                                  long timeout_ms, bool quiet, redis_link_changed_fn changed,
                                  void *arg);

enum redis_link_state redis_link_state(const struct redis_link *link);

/* Why it failed (REDIS_LINK_FAILED). */
const char *redis_link_error(const struct redis_link *link);

/* Sends a command (READY only): fn(context, reply, privdata) gets the reply, or a NULL reply
 * when the connection is lost first. False when it cannot be sent (fn is not called). */
bool redis_link_command(struct redis_link *link, redisCallbackFn *fn, void *privdata, int argc,
                        const char **argv, const size_t *lengths);

/* Commands sent and not answered yet. */
size_t redis_link_outstanding(const struct redis_link *link);

/* Closes the connection; the callbacks of commands not answered get a NULL reply (so that
 * what they hold is freed or kept by their owners). */
void redis_link_free(struct redis_link *link);

#endif
