/* --crawl as a work source: the seeds from the input, then the pages the crawler found. */
#include "afetch/crawl_source.h"

#include <stdio.h>
#include <stdlib.h>

#include "afetch/crawl_journal.h"
#include "afetch/crawler.h"
#include "afetch/input_source.h"
#include "afetch/json_writer.h"
#include "afetch/request.h"
#include "afetch/work_source.h"

struct crawl_source {
  struct work_source base;
  struct work_source *seeds; /* owned */
  struct crawler *crawler;   /* owned */
  bool seeds_done;           /* the seeds' source is exhausted, failed or stopped */
  bool stopped;              /* WORK_END_STOP */
  bool at_deadline;          /* WORK_END_AT_STREAMS */
  uint64_t next_index;       /* the index of the next request handed out */
  /* --journal: the note of the page done() last saw, and what a resume replayed. */
  bool journaled;
  struct json_writer note;
  bool note_made;
  struct crawl_resume resume;
};

/* A crawl numbers its results in the order they are handed out, after those of earlier runs
 * (--journal). */
static void crawl_source_number(struct crawl_source *crawl, struct request *request) {
  request->index = crawl->next_index++;
  request->index_set = true;
}

/* The next seed the crawler admits: WORK_REQUEST, or the seeds' source's answer. */
static enum work_status crawl_source_next_seed(struct crawl_source *crawl,
                                               struct request **request) {
  while (!crawl->seeds_done) {
    enum work_status status = work_source_next(crawl->seeds, request);
    if (status == WORK_EXHAUSTED || status == WORK_FAILED)
      crawl->seeds_done = true;
    if (status != WORK_REQUEST)
      return status;
    (*request)->seed_line = (*request)->index;
    /* After the deadline a seed is only reported, so the crawler does not count it. */
    if (crawl->at_deadline || crawler_admit_seed(crawl->crawler, *request)) {
      crawl_source_number(crawl, *request);
      return WORK_REQUEST;
    }
    request_free(*request); /* a repeated seed (fetched once), or --max-pages used up */
    if (!crawler_has_budget(crawl->crawler)) {
      work_source_end(crawl->seeds, WORK_END_STOP);
      crawl->seeds_done = true;
    }
  }
  return WORK_EXHAUSTED;
}

/* Seeds first; pages found when no seed is to be had now. */
static enum work_status crawl_source_next(struct work_source *base, struct request **request) {
  struct crawl_source *crawl = (struct crawl_source *)base;
  enum work_status status = crawl_source_next_seed(crawl, request);
  if (status != WORK_WAIT && status != WORK_EXHAUSTED)
    return status;
  if (crawl->stopped || crawl->at_deadline || !crawler_has_pages(crawl->crawler))
    return crawl->seeds_done ? WORK_EXHAUSTED : WORK_WAIT;
  bool failed;
  *request = crawler_next_page(crawl->crawler, 0, &failed);
  if (failed)
    return WORK_NO_MEMORY;
  if (!*request)
    return WORK_WAIT;
  crawl_source_number(crawl, *request);
  return WORK_REQUEST;
}

/* A page or seed is finished: its links are queued while the crawl goes on, and the next
 * depth may open. With --journal they are queued also when the crawl is ending, for the
 * journal's note: the result about to be committed must say what the page found. */
static bool crawl_source_done(struct work_source *base, const struct request *request,
                              const struct outcome *outcome) {
  struct crawl_source *crawl = (struct crawl_source *)base;
  bool ok = true;
  bool parsed = outcome && (crawl->journaled || (!crawl->stopped && !crawl->at_deadline));
  if (parsed)
    ok = crawler_page_done(crawl->crawler, request, outcome);
  crawler_page_gone(crawl->crawler, request);
  /* Out of memory (the run fails), the note still names the page, without what it found, so
   * that the journal stays resumable. */
  crawl->note_made =
      crawl->journaled &&
      crawl_journal_note(&crawl->note, request, request->seed_line, crawl->crawler, parsed && ok);
  return ok && (!crawl->journaled || crawl->note_made);
}

static const char *crawl_source_journal_note(const struct work_source *base) {
  const struct crawl_source *crawl = (const struct crawl_source *)base;
  return crawl->note_made ? crawl->note.data : NULL;
}

static bool crawl_source_idle(const struct work_source *base) {
  const struct crawl_source *crawl = (const struct crawl_source *)base;
  return crawl->seeds_done &&
         (crawl->stopped || crawl->at_deadline || !crawler_has_pages(crawl->crawler));
}

static void crawl_source_end(struct work_source *base, enum work_end how) {
  struct crawl_source *crawl = (struct crawl_source *)base;
  if (how == WORK_END_STOP) {
    crawl->stopped = true;
    crawl->seeds_done = true;
  } else {
    crawl->at_deadline = true;
  }
  work_source_end(crawl->seeds, how);
}

static const char *crawl_source_error(const struct work_source *base) {
  return work_source_error(((const struct crawl_source *)base)->seeds);
}

static void crawl_source_free(struct work_source *base) {
  struct crawl_source *crawl = (struct crawl_source *)base;
  work_source_free(crawl->seeds);
  crawler_free(crawl->crawler);
  json_writer_free(&crawl->note);
  crawl_resume_free(&crawl->resume);
  free(crawl);
}

static const struct work_source_ops crawl_source_ops = {
    .next = crawl_source_next,
    .done = crawl_source_done,
    .journal_note = crawl_source_journal_note,
    .idle = crawl_source_idle,
    .end = crawl_source_end,
    .error = crawl_source_error,
    .free = crawl_source_free,
};

/* --journal: the crawl an earlier run left is replayed; its committed seeds are passed over.
 * False with a message in errbuf ("" when out of memory). */
static bool crawl_source_resume(struct crawl_source *crawl, const struct journal *journal,
                                struct frontier *frontier, char *errbuf, size_t errbuf_size) {
  crawl->journaled = true;
  json_writer_init(&crawl->note);
  crawler_record_changes(crawl->crawler);
  if (!crawl_journal_replay(journal, crawl->crawler, frontier, &crawl->resume, errbuf, errbuf_size))
    return false;
  crawl->next_index = crawl->resume.next_index;
  input_source_skip_if(crawl->seeds, crawl_resume_seed_committed, &crawl->resume);
  return true;
}

struct work_source *crawl_source_new(const struct afetch_options *options,
                                     struct frontier *frontier, struct work_source *seeds,
                                     const struct journal *journal, char *errbuf,
                                     size_t errbuf_size) {
  struct crawl_source *crawl = calloc(1, sizeof *crawl);
  snprintf(errbuf, errbuf_size, "%s", "");
  if (!crawl)
    return NULL;
  if (!(crawl->crawler = crawler_new(options, frontier))) {
    free(crawl);
    return NULL;
  }
  crawl->base = (struct work_source){.ops = &crawl_source_ops, .wake = seeds->wake};
  crawl->seeds = seeds;
  if (journal && !crawl_source_resume(crawl, journal, frontier, errbuf, errbuf_size)) {
    crawler_free(crawl->crawler);
    json_writer_free(&crawl->note);
    crawl_resume_free(&crawl->resume);
    free(crawl);
    return NULL;
  }
  return &crawl->base;
}
