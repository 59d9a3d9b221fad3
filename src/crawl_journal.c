/* --crawl --journal: a page's note (what it changed in the frontier) and its replay. */
#include "afetch/crawl_journal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "afetch/crawler.h"
#include "afetch/frontier.h"
#include "afetch/journal.h"
#include "afetch/json_writer.h"
#include "afetch/link_tags.h"
#include "afetch/request.h"

/* An index or input line beyond this is damage (the seed bitmap stays within 1 GiB). */
#define CRAWL_JOURNAL_MAX_LINE ((uint64_t)1 << 33)

/* `"key":[list]` when the list (JSON strings separated by commas) has any. */
static void crawl_journal_list(struct json_writer *note, const char *key, const char *list) {
  if (!list || !*list)
    return;
  json_writer_key(note, key);
  json_writer_array_begin(note);
  json_writer_raw(note, list);
  json_writer_array_end(note);
}

bool crawl_journal_note(struct json_writer *note, const struct request *page, uint64_t seed_line,
                        const struct crawler *crawler, bool changed) {
  struct crawler_changes changes = {0};
  bool recorded = !changed || crawler_last_changes(crawler, &changes);
  json_writer_reset(note);
  json_writer_object_begin(note);
  json_writer_key(note, "url");
  json_writer_string(note, page->url);
  json_writer_key(note, "depth");
  json_writer_uint(note, page->depth);
  if (!page->parent) {
    json_writer_key(note, "seed");
    json_writer_uint(note, seed_line);
  }
  if (page->requisite_via) {
    json_writer_key(note, "via");
    json_writer_string(note, page->requisite_via);
    json_writer_key(note, "level");
    json_writer_uint(note, page->requisite_level);
  }
  bool queues = (changes.queued && *changes.queued) || (changes.lowered && *changes.lowered);
  if (queues && page->scope_key) {
    json_writer_key(note, "scope");
    json_writer_string(note, page->scope_key);
  }
  if (changes.final_url) {
    json_writer_key(note, "final");
    json_writer_string(note, changes.final_url);
  }
  crawl_journal_list(note, "dropped", changes.dropped);
  crawl_journal_list(note, "lowered", changes.lowered);
  crawl_journal_list(note, "queued", changes.queued);
  crawl_journal_list(note, "requisites", changes.requisites);
  json_writer_object_end(note);
  return recorded && !note->failed;
}

/* ---- replay ---------------------------------------------------------------------------- */

struct crawl_replay {
  struct crawler *crawler;
  struct frontier *frontier;
  struct crawl_resume *resume;
  bool no_memory;
  size_t line_number; /* of the line being replayed */
};

/* Marks input line `line` as a committed seed. False when out of memory. */
static bool crawl_resume_mark_seed(struct crawl_resume *resume, uint64_t line) {
  size_t byte = (size_t)(line / 8);
  if (byte >= resume->seed_line_bytes) {
    size_t bytes = (byte / 4096 + 1) * 4096;
    uint8_t *grown = realloc(resume->seed_lines, bytes);
    if (!grown)
      return false;
    memset(grown + resume->seed_line_bytes, 0, bytes - resume->seed_line_bytes);
    resume->seed_lines = grown;
    resume->seed_line_bytes = bytes;
  }
  resume->seed_lines[byte] |= (uint8_t)(1u << (line % 8));
  return true;
}

bool crawl_resume_seed_committed(const void *arg, uint64_t line) {
  const struct crawl_resume *resume = arg;
  return line / 8 < resume->seed_line_bytes && (resume->seed_lines[line / 8] >> (line % 8)) & 1;
}

/* The strings of `list` (absent: none); false when it is there and not an array of them. */
static bool crawl_journal_strings(const cJSON *list) {
  if (!list)
    return true;
  if (!cJSON_IsArray(list))
    return false;
  const cJSON *item;
  cJSON_ArrayForEach(item, list) if (!cJSON_IsString(item)) return false;
  return true;
}

/* The static name of a requisite's `via` as the crawler gives it (a tag's name, or "css" for a
 * stylesheet's url() and @import); NULL when it names none. */
static const char *crawl_journal_via(const cJSON *via) {
  if (!cJSON_IsString(via))
    return NULL;
  if (strcmp(via->valuestring, "css") == 0)
    return "css";
  for (int tag = LINK_TAG_OTHER + 1; tag < LINK_TAG_COUNT; tag++)
    if (strcmp(link_tag_name((enum link_tag)tag), via->valuestring) == 0)
      return link_tag_name((enum link_tag)tag);
  return NULL;
}

/* -p: the requisites a page (of `depth`, requisite level `level`) queued, queued again. False
 * when the list is damaged or out of memory. */
static bool crawl_journal_requisites(struct crawl_replay *replay, const cJSON *requisites,
                                     const char *url, unsigned depth, unsigned level) {
  if (requisites && !cJSON_IsArray(requisites))
    return false;
  const cJSON *pair;
  cJSON_ArrayForEach(pair, requisites) {
    if (!cJSON_IsArray(pair) || cJSON_GetArraySize(pair) != 2)
      return false;
    const cJSON *requisite = cJSON_GetArrayItem(pair, 0);
    const char *via = crawl_journal_via(cJSON_GetArrayItem(pair, 1));
    if (!cJSON_IsString(requisite) || !via)
      return false;
    if (!crawler_replay_requisite(replay->crawler, url, depth, level, requisite->valuestring, via))
      replay->no_memory = true;
  }
  return !replay->no_memory;
}

/* What the page changed, done again: final URL, drops, moves up, new links. */
static bool crawl_journal_apply(struct crawl_replay *replay, const cJSON *note, const char *url,
                                unsigned depth, unsigned level) {
  const cJSON *scope = cJSON_GetObjectItemCaseSensitive(note, "scope");
  const cJSON *final = cJSON_GetObjectItemCaseSensitive(note, "final");
  const cJSON *dropped = cJSON_GetObjectItemCaseSensitive(note, "dropped");
  const cJSON *lowered = cJSON_GetObjectItemCaseSensitive(note, "lowered");
  const cJSON *queued = cJSON_GetObjectItemCaseSensitive(note, "queued");
  if ((final && !cJSON_IsString(final)) || (scope && !cJSON_IsString(scope)) ||
      !crawl_journal_strings(dropped) || !crawl_journal_strings(lowered) ||
      !crawl_journal_strings(queued))
    return false;
  const char *scope_key = scope ? scope->valuestring : NULL;
  if (final)
    frontier_mark_seen(replay->frontier, final->valuestring);
  const cJSON *item;
  cJSON_ArrayForEach(item, dropped) frontier_take(replay->frontier, item->valuestring);
  /* Requisites first, as crawler_page_done() queues them. */
  const cJSON *requisites = cJSON_GetObjectItemCaseSensitive(note, "requisites");
  if (!crawl_journal_requisites(replay, requisites, url, depth, level))
    return false;
  cJSON_ArrayForEach(item, lowered) {
    if (frontier_lower(replay->frontier, item->valuestring, depth + 1, url, scope_key) < 0)
      replay->no_memory = true;
  }
  cJSON_ArrayForEach(item, queued) {
    if (frontier_mark_seen(replay->frontier, item->valuestring) &&
        !frontier_push(replay->frontier, item->valuestring, depth + 1, url, scope_key))
      replay->no_memory = true;
  }
  return !replay->no_memory;
}

/* The page of a note an earlier run committed: marked committed, then what it changed done
 * again. False when the note is damaged or out of memory. */
static bool crawl_journal_replay_note(struct crawl_replay *replay, const cJSON *note) {
  const cJSON *url = cJSON_GetObjectItemCaseSensitive(note, "url");
  const cJSON *depth = cJSON_GetObjectItemCaseSensitive(note, "depth");
  const cJSON *seed = cJSON_GetObjectItemCaseSensitive(note, "seed");
  const cJSON *via = cJSON_GetObjectItemCaseSensitive(note, "via");
  const cJSON *level = cJSON_GetObjectItemCaseSensitive(note, "level");
  bool ok = cJSON_IsString(url) && cJSON_IsNumber(depth) && depth->valuedouble >= 0 &&
            depth->valuedouble <= 1000000 &&
            (!seed || (cJSON_IsNumber(seed) && seed->valuedouble >= 0 &&
                       seed->valuedouble < (double)CRAWL_JOURNAL_MAX_LINE)) &&
            (!via || (crawl_journal_via(via) && cJSON_IsNumber(level) && level->valuedouble >= 0 &&
                      level->valuedouble <= 1000));
  if (!ok)
    return false;
  if (seed && !crawl_resume_mark_seed(replay->resume, (uint64_t)seed->valuedouble)) {
    replay->no_memory = true;
    return false;
  }
  if (via)
    crawler_replay_requisite_committed(replay->crawler, url->valuestring);
  else
    crawler_replay_committed(replay->crawler, url->valuestring, seed != NULL);
  return crawl_journal_apply(replay, note, url->valuestring, (unsigned)depth->valuedouble,
                             via ? (unsigned)level->valuedouble : 0);
}

/* One result line of an earlier run (journal_line_fn). */
static bool crawl_journal_replay_line(void *arg, char *line, size_t length, size_t number) {
  struct crawl_replay *replay = arg;
  replay->line_number = number;
  const char *member = journal_line_note(line, length);
  const char *text = member ? strchr(member, ':') + 1 : NULL;
  cJSON *note = text ? cJSON_ParseWithLength(text, length - 1 - (size_t)(text - line)) : NULL;
  bool ok = note && crawl_journal_replay_note(replay, note);
  cJSON_Delete(note);
  return ok;
}

bool crawl_journal_replay(const struct journal *journal, struct crawler *crawler,
                          struct frontier *frontier, struct crawl_resume *resume, char *errbuf,
                          size_t errbuf_size) {
  *resume = (struct crawl_resume){.next_index = journal_index_end(journal)};
  struct crawl_replay replay = {.crawler = crawler, .frontier = frontier, .resume = resume};
  if (journal_for_each_result(journal, crawl_journal_replay_line, &replay))
    return true;
  if (replay.no_memory)
    snprintf(errbuf, errbuf_size, "%s", "");
  else if (errno == EILSEQ)
    snprintf(errbuf, errbuf_size,
             "the journal '%s' is damaged at line %zu (a result without the crawl's note, or a "
             "damaged one): left untouched",
             journal_path(journal), replay.line_number);
  else
    snprintf(errbuf, errbuf_size, "cannot read the journal '%s': %s", journal_path(journal),
             strerror(errno));
  return false;
}

void crawl_resume_free(struct crawl_resume *resume) {
  free(resume->seed_lines);
  *resume = (struct crawl_resume){0};
}
