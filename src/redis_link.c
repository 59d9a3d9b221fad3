/* A Redis connection that comes back: hiredis async on the caller's libevent base. */
#include "afetch/redis_link.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <hiredis/adapters/libevent.h>

#include "afetch/clock.h"
#include "afetch/redis_url.h"

#define REDIS_LINK_FIRST_BACKOFF_MS 100
#define REDIS_LINK_MAX_BACKOFF_MS 5000
#define REDIS_LINK_WATCH_MS 250 /* how often the timeout is checked */

struct redis_link {
  struct event_base *base;
  char *host;
  int port;
  char *user, *password;
  int db;
  long timeout_ms;
  bool quiet;
  redis_link_changed_fn changed;
  void *arg;
  redisAsyncContext *context; /* NULL while down */
  enum redis_link_state state;
  struct event *reconnect_timer;
  struct event *watch_timer;
  long backoff_ms;
  int64_t down_since_us; /* when it last went down (or was made) */
  int64_t progress_us;   /* the last reply, or the first command sent after none was out */
  size_t outstanding;    /* commands sent, not answered */
  bool said_down;        /* one message per outage */
  bool closing;          /* redis_link_free(): callbacks are not called */
  char error[256];
};

/* A command in flight: the caller's callback behind ours. */
struct redis_link_call {
  struct redis_link *link;
  redisCallbackFn *fn;
  void *privdata;
};

static void redis_link_connect(struct redis_link *link);

static void redis_link_set_state(struct redis_link *link, enum redis_link_state state) {
  if (link->state == state || link->state == REDIS_LINK_FAILED)
    return;
  link->state = state;
  if (state == REDIS_LINK_DOWN)
    link->down_since_us = clock_monotonic_us();
  link->changed(link->arg);
}

static void redis_link_say(struct redis_link *link, const char *what) {
  if (!link->quiet && !link->said_down)
    fprintf(stderr, "afetch: Redis at %s:%d: %s; trying again\n", link->host, link->port, what);
  link->said_down = true;
}

/* Down: try again after the backoff, doubled each time up to its cap. */
static void redis_link_retry_later(struct redis_link *link) {
  redis_link_set_state(link, REDIS_LINK_DOWN);
  struct timeval wait = {.tv_sec = link->backoff_ms / 1000,
                         .tv_usec = (link->backoff_ms % 1000) * 1000};
  evtimer_add(link->reconnect_timer, &wait);
  link->backoff_ms *= 2;
  if (link->backoff_ms > REDIS_LINK_MAX_BACKOFF_MS)
    link->backoff_ms = REDIS_LINK_MAX_BACKOFF_MS;
}

static void redis_link_on_reconnect(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  redis_link_connect(arg);
}

static void redis_link_on_call(redisAsyncContext *context, void *reply, void *privdata) {
  struct redis_link_call *call = privdata;
  struct redis_link *link = call->link;
  link->outstanding--;
  link->progress_us = clock_monotonic_us();
  call->fn(context, link->closing ? NULL : reply, call->privdata);
  free(call);
}

static bool redis_link_send(struct redis_link *link, redisCallbackFn *fn, void *privdata, int argc,
                            const char **argv, const size_t *lengths) {
  struct redis_link_call *call = malloc(sizeof *call);
  if (!call)
    return false;
  *call = (struct redis_link_call){link, fn, privdata};
  if (redisAsyncCommandArgv(link->context, redis_link_on_call, call, argc, argv, lengths) !=
      REDIS_OK) {
    free(call);
    return false;
  }
  if (link->outstanding++ == 0)
    link->progress_us = clock_monotonic_us();
  return true;
}

/* AUTH and SELECT answered: an error is said and the connection closed (tried again later). */
static void redis_link_on_login(redisAsyncContext *context, void *reply, void *privdata) {
  struct redis_link *link = privdata;
  redisReply *answer = reply;
  if (!answer)
    return; /* the connection went: its disconnect callback follows */
  if (answer->type == REDIS_REPLY_ERROR) {
    char what[200];
    snprintf(what, sizeof what, "refused the login: %s", answer->str);
    redis_link_say(link, what);
    redisAsyncDisconnect(context);
    return;
  }
  if (link->outstanding > 0) /* the other login command is still to come */
    return;
  link->backoff_ms = REDIS_LINK_FIRST_BACKOFF_MS;
  if (link->said_down && !link->quiet)
    fprintf(stderr, "afetch: Redis at %s:%d is back\n", link->host, link->port);
  link->said_down = false;
  redis_link_set_state(link, REDIS_LINK_READY);
}

static void redis_link_log_in(struct redis_link *link) {
  const char *auth[] = {"AUTH", link->user ? link->user : link->password, link->password};
  char db[16];
  snprintf(db, sizeof db, "%d", link->db);
  const char *select[] = {"SELECT", db};
  const char *ping[] = {"PING"};
  bool sent =
      (!link->password ||
       redis_link_send(link, redis_link_on_login, link, link->user ? 3 : 2, auth, NULL)) &&
      (link->db == 0 || redis_link_send(link, redis_link_on_login, link, 2, select, NULL)) &&
      redis_link_send(link, redis_link_on_login, link, 1, ping, NULL);
  if (!sent)
    redisAsyncDisconnect(link->context);
}

static void redis_link_on_connect(const redisAsyncContext *context, int status) {
  struct redis_link *link = context->data;
  if (status != REDIS_OK) {
    /* hiredis frees the context after this callback. */
    link->context = NULL;
    redis_link_say(link, context->errstr);
    redis_link_retry_later(link);
    return;
  }
  redis_link_log_in(link);
}

static void redis_link_on_disconnect(const redisAsyncContext *context, int status) {
  struct redis_link *link = context->data;
  link->context = NULL;
  if (link->closing)
    return;
  if (status != REDIS_OK)
    redis_link_say(link, context->errstr[0] ? context->errstr : "connection lost");
  else
    redis_link_say(link, "connection closed");
  redis_link_retry_later(link);
}

static void redis_link_connect(struct redis_link *link) {
  redisAsyncContext *context = redisAsyncConnect(link->host, link->port);
  if (!context || context->err) {
    redis_link_say(link, context ? context->errstr : "out of memory");
    if (context)
      redisAsyncFree(context);
    redis_link_retry_later(link);
    return;
  }
  context->data = link;
  link->context = context;
  redisLibeventAttach(context, link->base);
  redisAsyncSetConnectCallback(context, redis_link_on_connect);
  redisAsyncSetDisconnectCallback(context, redis_link_on_disconnect);
}

/* --redis-timeout: down that long, or a command unanswered that long, is the end. */
static void redis_link_on_watch(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  struct redis_link *link = arg;
  if (link->timeout_ms < 0 || link->state == REDIS_LINK_FAILED)
    return;
  int64_t now = clock_monotonic_us();
  bool down = link->state == REDIS_LINK_DOWN &&
              now - link->down_since_us >= (int64_t)link->timeout_ms * 1000;
  bool stalled =
      link->outstanding > 0 && now - link->progress_us >= (int64_t)link->timeout_ms * 1000;
  if (!down && !stalled)
    return;
  snprintf(link->error, sizeof link->error,
           "no answer from Redis at %s:%d for %.3g s (--redis-timeout)", link->host, link->port,
           (double)link->timeout_ms / 1000);
  redis_link_set_state(link, REDIS_LINK_FAILED);
}

static bool redis_link_copy_address(struct redis_link *link, const struct redis_address *address) {
  link->host = strdup(address->host);
  link->user = address->user ? strdup(address->user) : NULL;
  link->password = address->password ? strdup(address->password) : NULL;
  link->port = address->port;
  link->db = address->db;
  return link->host && (!address->user || link->user) && (!address->password || link->password);
}

struct redis_link *redis_link_new(struct event_base *base, const struct redis_address *address,
                                  long timeout_ms, bool quiet, redis_link_changed_fn changed,
                                  void *arg) {
  struct redis_link *link = calloc(1, sizeof *link);
  if (!link)
    return NULL;
  *link = (struct redis_link){.base = base,
                              .timeout_ms = timeout_ms,
                              .quiet = quiet,
                              .changed = changed,
                              .arg = arg,
                              .state = REDIS_LINK_DOWN,
                              .backoff_ms = REDIS_LINK_FIRST_BACKOFF_MS,
                              .down_since_us = clock_monotonic_us()};
  link->reconnect_timer = evtimer_new(base, redis_link_on_reconnect, link);
  link->watch_timer = event_new(base, -1, EV_PERSIST, redis_link_on_watch, link);
  struct timeval every = {.tv_usec = REDIS_LINK_WATCH_MS * 1000};
  if (!redis_link_copy_address(link, address) || !link->reconnect_timer || !link->watch_timer ||
      evtimer_add(link->watch_timer, &every) < 0) {
    redis_link_free(link);
    return NULL;
  }
  redis_link_connect(link);
  return link;
}

enum redis_link_state redis_link_state(const struct redis_link *link) { return link->state; }

const char *redis_link_error(const struct redis_link *link) { return link->error; }

bool redis_link_command(struct redis_link *link, redisCallbackFn *fn, void *privdata, int argc,
                        const char **argv, const size_t *lengths) {
  return link->state == REDIS_LINK_READY && link->context &&
         redis_link_send(link, fn, privdata, argc, argv, lengths);
}

size_t redis_link_outstanding(const struct redis_link *link) { return link->outstanding; }

void redis_link_free(struct redis_link *link) {
  if (!link)
    return;
  link->closing = true;
  if (link->context)
    redisAsyncFree(link->context);
  if (link->reconnect_timer)
    event_free(link->reconnect_timer);
  if (link->watch_timer)
    event_free(link->watch_timer);
  free(link->host);
  free(link->user);
  free(link->password);
  free(link);
}
