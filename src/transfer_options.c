/* curl's network options on each easy handle, and the run's cookie store. */
#include "afetch/transfer_options.h"
#include "afetch/replace_file.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct transfer_share {
  CURLSH *share;
  CURL *cookies; /* a handle that never transfers: loads -b's file, lists the cookies */
  pthread_mutex_t locks[CURL_LOCK_DATA_LAST];
};

/* -b: a value with '=' is cookies to send ("name=value; ..."), as curl's tool decides;
 * anything else names a file. */
static bool transfer_cookie_is_text(const char *cookie) { return strchr(cookie, '=') != NULL; }

bool transfer_options_apply(CURL *easy, const struct afetch_options *options) {
  bool ok = true;
#define TRANSFER_SET(option, value) ok = ok && curl_easy_setopt(easy, option, value) == CURLE_OK
  if (options->proxy) {
    TRANSFER_SET(CURLOPT_PROXY, options->proxy);
    /* curl's tool leaves no_proxy to the environment unless --noproxy is given. */
    if (!options->noproxy)
      TRANSFER_SET(CURLOPT_NOPROXY, (char *)NULL);
  }
  if (options->noproxy)
    TRANSFER_SET(CURLOPT_NOPROXY, options->noproxy);
  if (options->proxy_user)
    TRANSFER_SET(CURLOPT_PROXYUSERPWD, options->proxy_user);
  /* Not sent to another host on a redirect unless --location-trusted (task.c). */
  if (options->user)
    TRANSFER_SET(CURLOPT_USERPWD, options->user);
  /* The cookie engine, on the share's store: a cookie file "" (none) turns it on once
   * loaded, which RELOAD does at once. The list of files is then dropped (NULL), else
   * curl_easy_reset would lose it unfreed (libcurl 7.88); dropping it detaches the share's
   * cookies, which setting the share again brings back. */
  if (options->transfer_share) {
    TRANSFER_SET(CURLOPT_COOKIEFILE, "");
    TRANSFER_SET(CURLOPT_COOKIELIST, "RELOAD");
    TRANSFER_SET(CURLOPT_COOKIEFILE, (char *)NULL);
    TRANSFER_SET(CURLOPT_SHARE, transfer_share_handle(options->transfer_share));
  }
  if (options->cookie && transfer_cookie_is_text(options->cookie))
    TRANSFER_SET(CURLOPT_COOKIE, options->cookie);
  if (options->resolve)
    TRANSFER_SET(CURLOPT_RESOLVE, options->resolve);
  if (options->connect_to)
    TRANSFER_SET(CURLOPT_CONNECT_TO, options->connect_to);
  if (options->ip_version)
    TRANSFER_SET(CURLOPT_IPRESOLVE,
                 options->ip_version == 4 ? (long)CURL_IPRESOLVE_V4 : (long)CURL_IPRESOLVE_V6);
  if (options->interface)
    TRANSFER_SET(CURLOPT_INTERFACE, options->interface);
  if (options->cert)
    TRANSFER_SET(CURLOPT_SSLCERT, options->cert);
  if (options->key)
    TRANSFER_SET(CURLOPT_SSLKEY, options->key);
  if (options->cert_type)
    TRANSFER_SET(CURLOPT_SSLCERTTYPE, options->cert_type);
  if (options->capath)
    TRANSFER_SET(CURLOPT_CAPATH, options->capath);
  if (options->compressed) /* "": every encoding this libcurl decodes */
    TRANSFER_SET(CURLOPT_ACCEPT_ENCODING, "");
  if (options->limit_rate)
    TRANSFER_SET(CURLOPT_MAX_RECV_SPEED_LARGE, (curl_off_t)options->limit_rate);
#undef TRANSFER_SET
  return ok;
}

void transfer_options_read_result(CURL *easy, const struct afetch_options *options,
                                  struct afetch_result *result) {
  if (!options->compressed)
    return;
  /* libcurl counts the body as it came over the wire; the write callback (size) sees it
   * decoded. */
  curl_off_t wire = 0;
  curl_easy_getinfo(easy, CURLINFO_SIZE_DOWNLOAD_T, &wire);
  result->has_wire_size = true;
  result->wire_size = wire > 0 ? (uint64_t)wire : 0;
}

bool transfer_share_wanted(const struct afetch_options *options) {
  return options->cookie || options->cookie_jar;
}

static void transfer_share_lock(CURL *easy, curl_lock_data data, curl_lock_access access,
                                void *arg) {
  (void)easy, (void)access;
  struct transfer_share *share = arg;
  pthread_mutex_lock(&share->locks[data]);
}

static void transfer_share_unlock(CURL *easy, curl_lock_data data, void *arg) {
  (void)easy;
  struct transfer_share *share = arg;
  pthread_mutex_unlock(&share->locks[data]);
}

/* Cookies, and what the workers' own shares hold otherwise (DNS, TLS sessions). */
static bool transfer_share_setup(struct transfer_share *share) {
  CURLSH *handle = share->share;
  return curl_share_setopt(handle, CURLSHOPT_LOCKFUNC, transfer_share_lock) == CURLSHE_OK &&
         curl_share_setopt(handle, CURLSHOPT_UNLOCKFUNC, transfer_share_unlock) == CURLSHE_OK &&
         curl_share_setopt(handle, CURLSHOPT_USERDATA, share) == CURLSHE_OK &&
         curl_share_setopt(handle, CURLSHOPT_SHARE, CURL_LOCK_DATA_COOKIE) == CURLSHE_OK &&
         curl_share_setopt(handle, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) == CURLSHE_OK &&
         curl_share_setopt(handle, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) == CURLSHE_OK &&
         curl_easy_setopt(share->cookies, CURLOPT_SHARE, handle) == CURLE_OK &&
         curl_easy_setopt(share->cookies, CURLOPT_COOKIEFILE, "") == CURLE_OK;
}

/* -b FILE: read once, into the share. A missing file is no error, as with curl: the first
 * run of `-b jar --cookie-jar jar` has none yet. */
static bool transfer_share_load(struct transfer_share *share, const char *path, FILE *err) {
  if (access(path, F_OK) != 0 && errno == ENOENT)
    return true;
  if (access(path, R_OK) != 0) {
    fprintf(err, "afetch: cannot read cookie file '%s': %s\n", path, strerror(errno));
    return false;
  }
  return curl_easy_setopt(share->cookies, CURLOPT_COOKIEFILE, path) == CURLE_OK &&
         curl_easy_setopt(share->cookies, CURLOPT_COOKIELIST, "RELOAD") == CURLE_OK;
}

struct transfer_share *transfer_share_new(const struct afetch_options *options, FILE *err) {
  struct transfer_share *share = calloc(1, sizeof *share);
  if (!share) {
    fprintf(err, "afetch: out of memory\n");
    return NULL;
  }
  for (size_t i = 0; i < CURL_LOCK_DATA_LAST; i++)
    pthread_mutex_init(&share->locks[i], NULL);
  share->share = curl_share_init();
  share->cookies = curl_easy_init();
  if (!share->share || !share->cookies || !transfer_share_setup(share)) {
    fprintf(err, "afetch: cannot set up the cookie store (libcurl)\n");
    transfer_share_free(share);
    return NULL;
  }
  if (options->cookie && !transfer_cookie_is_text(options->cookie) &&
      !transfer_share_load(share, options->cookie, err)) {
    transfer_share_free(share);
    return NULL;
  }
  return share;
}

CURLSH *transfer_share_handle(const struct transfer_share *share) {
  return share ? share->share : NULL;
}

/* replace_file's writer: the header curl writes, then one line per cookie. */
static bool transfer_write_cookies(FILE *file, void *arg) {
  const struct curl_slist *cookies = arg;
  fputs("# Netscape HTTP Cookie File\n"
        "# Written by afetch at the end of a run; curl -b and afetch -b read it.\n\n",
        file);
  for (; cookies; cookies = cookies->next)
    fprintf(file, "%s\n", cookies->data);
  return !ferror(file);
}

bool transfer_share_save_cookies(struct transfer_share *share, const char *path, FILE *err) {
  struct curl_slist *cookies = NULL;
  if (curl_easy_getinfo(share->cookies, CURLINFO_COOKIELIST, &cookies) != CURLE_OK) {
    fprintf(err, "afetch: cannot list the cookies for '%s'\n", path);
    return false;
  }
  int written = replace_file(path, transfer_write_cookies, cookies, NULL);
  int error = errno;
  curl_slist_free_all(cookies);
  if (written != 0) {
    fprintf(err, "afetch: cannot write the cookie jar '%s': %s\n", path, strerror(error));
    return false;
  }
  return true;
}

void transfer_share_free(struct transfer_share *share) {
  if (!share)
    return;
  if (share->cookies)
    curl_easy_cleanup(share->cookies);
  if (share->share)
    curl_share_cleanup(share->share);
  for (size_t i = 0; i < CURL_LOCK_DATA_LAST; i++)
    pthread_mutex_destroy(&share->locks[i]);
  free(share);
}
