/* --shard K/N, --shard-by and --shard env: N runs over one input fetch each line once between
 * them, each host in one run, every result with its index in the whole input. Distinct host
 * names on the one test server: curl resolves every *.localhost name to the loopback address
 * itself. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "harness.h"
#include "tests.h"

#define SHARD_HOSTS 12
#define SHARD_PATHS_PER_HOST 3

/* The host name of a result's URL ("h3.localhost"; tracked), or NULL for a line without one. */
static const char *url_host(const char *url) {
  const char *start = url ? strstr(url, "://") : NULL;
  if (!start)
    return NULL;
  start += 3;
  return h_fmt("%.*s", (int)strcspn(start, ":/"), start);
}

/* Many hosts, a few lines each, a JSON line, lines that are no usable request, comments. */
static const char *sharded_input(int port) {
  struct h_buf *text = h_text();
  h_text_add(text, "# %d hosts\n\n", SHARD_HOSTS + 2);
  for (int path = 0; path < SHARD_PATHS_PER_HOST; path++) {
    for (int host = 1; host <= SHARD_HOSTS; host++)
      h_text_add(text, "http://h%d.localhost:%d/any/%d\n", host, port, path);
    h_text_add(text, "http://127.0.0.1:%d/any/%d\nlocalhost:%d/any/%d\n", port, path, port, path);
  }
  h_text_add(text, "{\"url\": \"http://H4.localhost:%d/any/json\", \"id\": 1}\n", port);
  h_text_add(text, "{\"id\": \"no url\"}\nhttp://exa mple.com/\nhttp://[nope/\n");
  return text->data;
}

/* One run's --ndjson results; it exits 0 when all are ok, else 1. */
static cJSON *run_shard(const char *const *args, const char *input) {
  struct h_proc *proc = h_afetch_run(args, input);
  cJSON *results = h_parse_ndjson(proc->out.data);
  int failed = 0;
  const cJSON *result;
  cJSON_ArrayForEach(result, results) failed |= !h_ok(result);
  h_expect_exit(proc, failed);
  return results;
}

/* The union of three shards' results equals the unsharded run's: the same URL under each
 * index, each index once; every host in one shard; the server sees each URL once. */
void shards_together_fetch_each_line_once(void **state) {
  (void)state;
  struct h_server *server = h_private_server(false);
  int port = server->http_port;
  const char *input = sharded_input(port);
  h_reset(port);
  const char *whole_args[] = {"--ndjson", "-", NULL};
  cJSON *whole = run_shard(whole_args, input);
  size_t total = (size_t)cJSON_GetArraySize(whole);
  h_check_results(whole, total);
  long whole_requests = h_stats(port).requests;

  const char **owner = h_calloc(total, sizeof *owner);   /* by index: the shard's "K/3" */
  const char *host_shard[SHARD_HOSTS + 3][2] = {{NULL}}; /* host -> the shard it was in */
  size_t hosts_seen = 0, per_shard[3] = {0};
  h_reset(port);
  for (int k = 1; k <= 3; k++) {
    const char *spec = h_fmt("%d/3", k);
    const char *args[] = {"--ndjson", "--shard", spec, "-", NULL};
    cJSON *part = run_shard(args, input);
    const cJSON *result;
    cJSON_ArrayForEach(result, part) {
      long index = (long)h_number(result, "index");
      if (index < 0 || (size_t)index >= total || owner[index])
        fail_msg("--shard %s: index %ld is out of range or also in shard %s", spec, index,
                 index >= 0 && (size_t)index < total ? owner[index] : "-");
      owner[index] = spec;
      per_shard[k - 1]++;
      /* null for the JSON line without one */
      const char *url = h_string(result, "url"),
                 *whole_url = h_string(h_result(whole, index), "url");
      if (url ? !whole_url || strcmp(url, whole_url) != 0 : whole_url != NULL)
        fail_msg("--shard %s: index %ld is %s, the whole run's is %s", spec, index,
                 url ? url : "null", whole_url ? whole_url : "null");
      if (!h_ok(result))
        continue; /* the bad lines go by index */
      const char *host = url_host(url);
      size_t h = 0;
      while (h < hosts_seen && strcasecmp(host_shard[h][0], host) != 0)
        h++;
      if (h == hosts_seen) {
        assert_true(hosts_seen < SHARD_HOSTS + 3);
        host_shard[hosts_seen][0] = host;
        host_shard[hosts_seen++][1] = spec;
      } else if (strcmp(host_shard[h][1], spec) != 0) {
        fail_msg("host %s is in shard %s and in shard %s", host, host_shard[h][1], spec);
      }
    }
  }
  for (size_t i = 0; i < total; i++)
    if (!owner[i])
      fail_msg("index %zu is in no shard", i);
  assert_int_equal(hosts_seen, SHARD_HOSTS + 2);
  for (int k = 0; k < 3; k++)
    if (per_shard[k] == 0)
      fail_msg("shard %d/3 took no line of %zu", k + 1, total);
  long shard_requests = h_stats(port).requests;
  if (shard_requests != whole_requests)
    fail_msg("the shards made %ld requests, the whole run %ld", shard_requests, whole_requests);
}

/* --shard-by line: shard K takes the lines whose index is K-1 mod N, whatever their host; by
 * host, one host's lines all go to one shard, and the others write an empty array. */
void shard_by_line_splits_evenly(void **state) {
  (void)state;
  int port = h_http->http_port;
  struct h_buf *text = h_text();
  for (int i = 0; i < 30; i++)
    h_text_add(text, "http://127.0.0.1:%d/any/%d\n", port, i);
  const char *file = h_temp_file(text->data, text->len);
  for (int k = 1; k <= 3; k++) {
    const char *spec = h_fmt("%d/3", k);
    const char *args[] = {"--ndjson", "--shard", spec, "--shard-by", "line", file, NULL};
    cJSON *part = run_shard(args, NULL);
    assert_int_equal(cJSON_GetArraySize(part), 10);
    const cJSON *result;
    cJSON_ArrayForEach(result, part) {
      long index = (long)h_number(result, "index");
      if (index % 3 != k - 1 || !h_ok(result))
        fail_msg("--shard %s --shard-by line: index %ld (ok: %d)", spec, index, h_ok(result));
    }
  }
  /* By host: 127.0.0.1 is in shard 1 of 3 (the test vectors). */
  const char *first[] = {"--shard", "1/3", file, NULL};
  struct h_proc *proc = h_afetch_run(first, NULL);
  h_expect_exit(proc, 0);
  h_check_results(h_gather_output(proc), 30);
  const char *second[] = {"--shard", "2/3", file, NULL};
  proc = h_afetch_run(second, NULL);
  h_expect_exit(proc, 0);
  assert_int_equal(cJSON_GetArraySize(h_gather_output(proc)), 0);
}

/* The indexes a run with these environment variables and arguments writes, as "0 3 6 ". */
static const char *indexes_of(const char *const *environment, const char *const *args,
                              const char *input) {
  struct h_proc *proc = h_afetch_run_env(environment, args, input);
  h_expect_exit(proc, 0);
  cJSON *results = h_gather_output(proc);
  struct h_buf *text = h_text();
  const cJSON *result;
  cJSON_ArrayForEach(result, results) h_text_add(text, "%ld ", (long)h_number(result, "index"));
  return text->data;
}

/* --shard env reads a Kubernetes Indexed Job's and a Slurm array's variables; without them,
 * or with bad ones, and with bad K/N values: exit 2, the usage line, nothing fetched. */
void shard_env_reads_batch_variables_and_bad_values_exit_2(void **state) {
  (void)state;
  struct h_server *server = h_private_server(false);
  int port = server->http_port;
  /* The suite's own environment must not decide (it may run inside a batch job). */
  const char *const variables[] = {"JOB_COMPLETION_INDEX",   "AFETCH_SHARD_COUNT",
                                   "SLURM_ARRAY_TASK_ID",    "SLURM_ARRAY_TASK_MIN",
                                   "SLURM_ARRAY_TASK_COUNT", "SLURM_ARRAY_TASK_MAX",
                                   "SLURM_ARRAY_TASK_STEP"};
  for (size_t v = 0; v < sizeof variables / sizeof variables[0]; v++)
    unsetenv(variables[v]);
  struct h_buf *text = h_text();
  for (int i = 0; i < 9; i++)
    h_text_add(text, "http://127.0.0.1:%d/any/%d\n", port, i);
  const char *input = text->data;
  const char *by_line[] = {"--shard", "env", "--shard-by", "line", NULL};
  const char *const kubernetes[] = {"JOB_COMPLETION_INDEX=1", "AFETCH_SHARD_COUNT=3", NULL};
  assert_string_equal(indexes_of(kubernetes, by_line, input), "1 4 7 ");
  const char *const slurm[] = {"SLURM_ARRAY_TASK_ID=12", "SLURM_ARRAY_TASK_MIN=10",
                               "SLURM_ARRAY_TASK_COUNT=3", NULL};
  assert_string_equal(indexes_of(slurm, by_line, input), "2 5 8 ");

  h_reset(port);
  const char *const none[] = {NULL};
  const char *const no_count[] = {"JOB_COMPLETION_INDEX=0", NULL};
  const char *const past_count[] = {"JOB_COMPLETION_INDEX=3", "AFETCH_SHARD_COUNT=3", NULL};
  const char *const slurm_step[] = {"SLURM_ARRAY_TASK_ID=2", "SLURM_ARRAY_TASK_MIN=0",
                                    "SLURM_ARRAY_TASK_COUNT=3", "SLURM_ARRAY_TASK_STEP=2", NULL};
  const struct {
    const char *const *environment;
    const char *value, *message;
  } bad[] = {
      {none, "env", "neither JOB_COMPLETION_INDEX"},
      {no_count, "env", "AFETCH_SHARD_COUNT is not"},
      {past_count, "env", "JOB_COMPLETION_INDEX is '3'"},
      {slurm_step, "env", "not consecutive"},
      {none, "0/3", "--shard wants K/N"},
      {none, "4/3", "--shard wants K/N"},
      {none, "1/0", "--shard wants K/N"},
      {none, "1/1000001", "--shard wants K/N"},
      {none, "half", "--shard wants K/N"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    const char *args[] = {"--shard", bad[i].value, NULL};
    struct h_proc *proc = h_afetch_run_env(bad[i].environment, args, input);
    h_expect_exit(proc, 2);
    if (proc->out.len != 0 || !strstr(proc->err.data, bad[i].message) ||
        !strstr(proc->err.data, "Usage: afetch"))
      fail_msg("%s: expected no output and '%s' with the usage line, got stdout: %s stderr: %s",
               proc->cmdline, bad[i].message, proc->out.data, proc->err.data);
  }
  if (h_stats(port).requests != 0)
    fail_msg("a usage error must fetch nothing");
}

/* --crawl --shard: each run crawls the seeds of its own hosts; together they crawl what one
 * run does. h1.localhost is in shard 1 of 2, h3.localhost in shard 2. */
void crawl_shards_split_seeds_by_host(void **state) {
  (void)state;
  int port = h_http->http_port;
  const char *seeds = h_fmt("http://h1.localhost:%d/site/0.html\n"
                            "http://h3.localhost:%d/site/0.html\n",
                            port, port);
  const char *whole_args[] = {"--ndjson", "--crawl", "--depth", "2", "-", NULL};
  cJSON *whole = run_shard(whole_args, seeds);
  size_t total = (size_t)cJSON_GetArraySize(whole), together = 0;
  const char *hosts[] = {"h1.localhost", "h3.localhost"};
  for (int k = 1; k <= 2; k++) {
    const char *spec = h_fmt("%d/2", k);
    const char *args[] = {"--ndjson", "--crawl", "--depth", "2", "--shard", spec, "-", NULL};
    cJSON *part = run_shard(args, seeds);
    const cJSON *result;
    cJSON_ArrayForEach(result, part) {
      const char *url = h_string(result, "url");
      if (strcmp(url_host(url), hosts[k - 1]) != 0)
        fail_msg("--crawl --shard %s fetched %s, of another shard's host", spec, url);
      bool in_whole = false;
      const cJSON *other;
      cJSON_ArrayForEach(other, whole) in_whole |= strcmp(h_string(other, "url"), url) == 0;
      if (!in_whole)
        fail_msg("--crawl --shard %s fetched %s, which the whole crawl did not", spec, url);
    }
    together += (size_t)cJSON_GetArraySize(part);
  }
  if (together != total || total < 4)
    fail_msg("the shards crawled %zu pages, the whole crawl %zu", together, total);
}
