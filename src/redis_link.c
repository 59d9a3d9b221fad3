/* A Redis connection that comes back: hiredis async on the caller's libevent base. */
#include "afetch/redis_link.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>
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
  /* A host name (not an IP address) is looked up on the base before each connect, so that
   * hiredis, given the address, does no blocking lookup of its own on the loop. */
  struct evdns_base *dns;                      /* NULL: the host is an address */
  struct evdns_getaddrinfo_request *resolving; /* the lookup under way, if any */
  bool lookup_out;                             /* ... its answer not come yet */
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

/* Connects to `address` (the host, or the address it was looked up to). */
static void redis_link_connect_to(struct redis_link *link, const char *address) {
  redisAsyncContext *context = redisAsyncConnect(address, link->port);
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

/* The first IPv4 address found, else the first (hiredis tries IPv4 first too), as text. */
static bool redis_link_address_text(const struct evutil_addrinfo *found, char *text, size_t size) {
  const struct evutil_addrinfo *chosen = found;
  for (const struct evutil_addrinfo *at = found; at; at = at->ai_next)
    if (at->ai_family == AF_INET) {
      chosen = at;
      break;
    }
  const void *address =
      chosen->ai_family == AF_INET6
          ? (const void *)&((const struct sockaddr_in6 *)chosen->ai_addr)->sin6_addr
          : (const void *)&((const struct sockaddr_in *)chosen->ai_addr)->sin_addr;
  return evutil_inet_ntop(chosen->ai_family, address, text, size) != NULL;
}

static void redis_link_on_resolved(int result, struct evutil_addrinfo *found, void *arg) {
  char address[INET6_ADDRSTRLEN];
  bool usable = result == 0 && found && redis_link_address_text(found, address, sizeof address);
  if (found)
    evutil_freeaddrinfo(found);
  if (result == EVUTIL_EAI_CANCEL)
    return; /* redis_link_free(): the link is gone */
  struct redis_link *link = arg;
  link->resolving = NULL;
  link->lookup_out = false;
  if (usable) {
    redis_link_connect_to(link, address);
    return;
  }
  char what[200];
  snprintf(what, sizeof what, "cannot look the host name up: %s",
           result ? evutil_gai_strerror(result) : "no address");
  redis_link_say(link, what);
  redis_link_retry_later(link);
}

static void redis_link_connect(struct redis_link *link) {
  if (!link->dns) {
    redis_link_connect_to(link, link->host);
    return;
  }
  struct evutil_addrinfo hints = {
      .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_protocol = IPPROTO_TCP};
  link->lookup_out = true;
  struct evdns_getaddrinfo_request *request =
      evdns_getaddrinfo(link->dns, link->host, NULL, &hints, redis_link_on_resolved, link);
  if (link->lookup_out) /* else it was answered already (/etc/hosts, or a failure) */
    link->resolving = request;
}

/* The resolver, for a host that is no IP address. False when out of memory. */
static bool redis_link_need_dns(struct redis_link *link) {
  struct in6_addr address;
  if (evutil_inet_pton(AF_INET, link->host, &address) == 1 ||
      evutil_inet_pton(AF_INET6, link->host, &address) == 1)
    return true;
  link->dns = evdns_base_new(link->base, EVDNS_BASE_INITIALIZE_NAMESERVERS |
                                             EVDNS_BASE_DISABLE_WHEN_INACTIVE);
  return link->dns != NULL;
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
      evtimer_add(link->watch_timer, &every) < 0 || !redis_link_need_dns(link)) {
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
  /* A lookup under way is dropped (its answer, if the loop ran again, would be a cancel). */
  if (link->resolving)
    evdns_getaddrinfo_cancel(link->resolving);
  if (link->dns)
    evdns_base_free(link->dns, 0);
  if (link->reconnect_timer)
    event_free(link->reconnect_timer);
  if (link->watch_timer)
    event_free(link->watch_timer);
  free(link->host);
  free(link->user);
  free(link->password);
  free(link);
}
