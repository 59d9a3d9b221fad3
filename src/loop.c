/* libevent <-> libcurl multi glue, in the shape of curl's hiperfifo example: one event per
 * socket curl wants watched, one timer for curl's timeouts, curl_multi_socket_action on
 * either, and curl_multi_info_read afterwards to hand finished transfers back. */
#include "afetch/loop.h"

#include <stdbool.h>
#include <stdlib.h>

#include <event2/event.h>

/* What we keep per socket curl asks us to watch (attached with curl_multi_assign), linked
 * so that loop_free can release what curl_multi_cleanup does not report. */
struct loop_socket {
  struct event *event;
  short events;
  struct loop_socket *prev, *next;
};

struct loop {
  struct event_base *base;
  CURLM *multi;
  struct event *timer;
  struct loop_socket *sockets;
  loop_done_fn on_done;
  void *on_done_arg;
};

static void loop_socket_free(struct loop *loop, struct loop_socket *watched) {
  if (watched->prev)
    watched->prev->next = watched->next;
  else
    loop->sockets = watched->next;
  if (watched->next)
    watched->next->prev = watched->prev;
  if (watched->event)
    event_free(watched->event); /* deletes a pending event first */
  free(watched);
}

/* Hands every finished transfer to on_done, after taking it out of the multi handle.
 * Transfers on_done adds start on curl's 0 ms timer, in the next loop pass (driving them at
 * once from here was tried and bought nothing: docs/design.md, "Measured choices"). */
static void loop_collect_finished(struct loop *loop) {
  CURLMsg *message;
  int left;
  while ((message = curl_multi_info_read(loop->multi, &left))) {
    if (message->msg != CURLMSG_DONE)
      continue;
    CURL *easy = message->easy_handle;
    CURLcode code = message->data.result;
    curl_multi_remove_handle(loop->multi, easy);
    loop->on_done(loop->on_done_arg, easy, code);
  }
}

static void loop_on_socket_event(evutil_socket_t fd, short what, void *arg) {
  struct loop *loop = arg;
  int flags = ((what & EV_READ) ? CURL_CSELECT_IN : 0) | ((what & EV_WRITE) ? CURL_CSELECT_OUT : 0);
  int running;
  curl_multi_socket_action(loop->multi, fd, flags, &running);
  loop_collect_finished(loop);
}

static void loop_on_timer(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  struct loop *loop = arg;
  int running;
  curl_multi_socket_action(loop->multi, CURL_SOCKET_TIMEOUT, 0, &running);
  loop_collect_finished(loop);
}

/* CURLMOPT_TIMERFUNCTION: even a 0 ms timeout goes through the event loop, never straight
 * back into curl, which must not be re-entered from its own callback. */
static int loop_on_curl_timer(CURLM *multi, long timeout_ms, void *arg) {
  (void)multi;
  struct loop *loop = arg;
  if (timeout_ms < 0) {
    evtimer_del(loop->timer);
    return 0;
  }
  struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
  return evtimer_add(loop->timer, &tv) < 0 ? -1 : 0;
}

/* CURLMOPT_SOCKETFUNCTION: start, change or stop watching one socket. */
static int loop_on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *arg,
                               void *socket_arg) {
  (void)easy;
  struct loop *loop = arg;
  struct loop_socket *watched = socket_arg;
  if (what == CURL_POLL_REMOVE) {
    if (watched) {
      loop_socket_free(loop, watched);
      curl_multi_assign(loop->multi, fd, NULL);
    }
    return 0;
  }
  short events =
      EV_PERSIST | ((what & CURL_POLL_IN) ? EV_READ : 0) | ((what & CURL_POLL_OUT) ? EV_WRITE : 0);
  if (!watched) {
    watched = calloc(1, sizeof *watched);
    if (!watched)
      return -1;
    watched->next = loop->sockets;
    if (loop->sockets)
      loop->sockets->prev = watched;
    loop->sockets = watched;
    watched->event = event_new(loop->base, fd, events, loop_on_socket_event, loop);
    if (!watched->event) {
      loop_socket_free(loop, watched);
      return -1;
    }
    curl_multi_assign(loop->multi, fd, watched);
  } else if (watched->events == events) {
    return 0;
  } else {
    /* Re-assigning a pending event corrupts libevent: delete it first. */
    event_del(watched->event);
    event_assign(watched->event, loop->base, fd, events, loop_on_socket_event, loop);
  }
  watched->events = events;
  return event_add(watched->event, NULL) < 0 ? -1 : 0;
}

struct loop *loop_new(struct event_base *base, unsigned max_connections, loop_done_fn on_done,
                      void *arg) {
  struct loop *loop = calloc(1, sizeof *loop);
  if (!loop)
    return NULL;
  loop->base = base;
  loop->on_done = on_done;
  loop->on_done_arg = arg;
  loop->multi = curl_multi_init();
  loop->timer = evtimer_new(base, loop_on_timer, loop);
  if (!loop->multi || !loop->timer) {
    loop_free(loop);
    return NULL;
  }
  curl_multi_setopt(loop->multi, CURLMOPT_SOCKETFUNCTION, loop_on_curl_socket);
  curl_multi_setopt(loop->multi, CURLMOPT_SOCKETDATA, loop);
  curl_multi_setopt(loop->multi, CURLMOPT_TIMERFUNCTION, loop_on_curl_timer);
  curl_multi_setopt(loop->multi, CURLMOPT_TIMERDATA, loop);
  curl_multi_setopt(loop->multi, CURLMOPT_MAXCONNECTS, (long)max_connections);
  return loop;
}

CURLMcode loop_add(struct loop *loop, CURL *easy) {
  return curl_multi_add_handle(loop->multi, easy);
}

void loop_remove(struct loop *loop, CURL *easy) { curl_multi_remove_handle(loop->multi, easy); }

void loop_free(struct loop *loop) {
  if (!loop)
    return;
  /* curl_multi_cleanup may still report sockets to close: the events must exist until then. */
  if (loop->multi)
    curl_multi_cleanup(loop->multi);
  while (loop->sockets)
    loop_socket_free(loop, loop->sockets);
  if (loop->timer)
    event_free(loop->timer);
  free(loop);
}
