/* --robots: one host's robots.txt, read and matched as RFC 9309 says. */
#include "afetch/robots.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* RFC 9309 2.5: crawlers may stop parsing after 500 KiB. */
#define ROBOTS_MAX_BYTES 512000
/* A longer Crawl-delay would stall a host for the whole run: it counts as this many seconds. */
#define ROBOTS_MAX_CRAWL_DELAY 60.0
/* Paths whose canonical form fits here are matched without a heap copy. */
#define ROBOTS_PATH_BUFFER 1024

/* One Allow or Disallow line. The pattern is in canonical form (robots_canonical()): a raw '*'
 * is the wildcard and nothing else is special; a final '$' has been taken off into `anchored`. */
struct robots_rule {
  char *pattern;
  size_t length;
  size_t specificity; /* octets of the canonical pattern, '$' included: longest match wins */
  bool allow;
  bool anchored;
};

struct robots_rules {
  struct robots_rule *items;
  size_t count;
  size_t capacity;
};

struct robots {
  struct robots_rules rules;
  double crawl_delay;
};

/* What the parser gathers for one kind of group: the groups naming the agent, or the "*"
 * groups. Every group of the kind adds its rules (RFC 9309 2.2.1: groups are combined). */
struct robots_collector {
  struct robots_rules rules;
  double crawl_delay;
  bool has_delay; /* the first valid Crawl-delay wins */
  bool seen;      /* at least one such group, even one without rules */
};

struct robots_parser {
  const char *agent; /* the caller's product token */
  size_t agent_length;
  struct robots_collector named; /* groups whose user-agent is the agent */
  struct robots_collector star;  /* "*" groups */
  bool in_group;                 /* a user-agent line has been read */
  bool after_rules;              /* the current group has had an allow/disallow line */
  bool group_named;              /* the current group's user-agents include the agent */
  bool group_star;               /* ... or "*" */
  bool out_of_memory;
};

static bool robots_is_space(char c) { return c == ' ' || c == '\t' || c == '\v' || c == '\f'; }

static char robots_lower(char c) { return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c; }

/* True when text[0..length) equals the lower-case `word`, ignoring ASCII case. */
static bool robots_key_is(const char *text, size_t length, const char *word) {
  size_t word_length = strlen(word);
  if (length != word_length)
    return false;
  for (size_t i = 0; i < length; i++)
    if (robots_lower(text[i]) != word[i])
      return false;
  return true;
}

/* The product token at the start of `text`: letters, '_' and '-' (RFC 9309 2.2.1), so
 * "afetch/1.0" gives "afetch". */
static size_t robots_product_token(const char *text, size_t length) {
  size_t n = 0;
  while (n < length) {
    char c = robots_lower(text[n]);
    if (!((c >= 'a' && c <= 'z') || c == '_' || c == '-'))
      break;
    n++;
  }
  return n;
}

static int robots_hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  c = robots_lower(c);
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  return -1;
}

/* RFC 3986 2.3: the characters that mean the same raw and percent-encoded. */
static bool robots_is_unreserved(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

/* RFC 3986 2.2's reserved characters but '$' and '*', which robots.txt gives a meaning. */
static bool robots_is_reserved(unsigned char c) {
  return c != '\0' && strchr(":/?#[]@!&'()+,;=", c) != NULL;
}

static size_t robots_put_escape(char *out, size_t n, unsigned char c) {
  static const char hex[] = "0123456789ABCDEF";
  out[n] = '%';
  out[n + 1] = hex[c >> 4];
  out[n + 2] = hex[c & 15];
  return n + 3;
}

/* Writes the canonical form of in[0..length) to `out` (room for 3 * length octets) and returns
 * its length. Both a rule's pattern and a URL's path go through it, so that spellings of one
 * URL compare equal (RFC 9309 2.2.2): a %XX of an unreserved character is decoded ("%62" is
 * "b"); other %XX keep upper-case hex digits ("%aa" is "%AA"); octets outside printable ASCII
 * (UTF-8, controls, space) and characters a URL may not hold raw are percent-encoded; a '%'
 * without two hex digits becomes "%25". '$' is always "%24" (a pattern's final '$' is taken
 * off first). In a pattern a raw '*' stays the wildcard; in a path it becomes "%2A", so that a
 * pattern's "%2A" matches a literal '*' (RFC 9309 2.2.3). */
static size_t robots_canonical(const char *in, size_t length, bool pattern, char *out) {
  size_t n = 0;
  for (size_t i = 0; i < length; i++) {
    unsigned char c = (unsigned char)in[i];
    if (c == '%') {
      int hi = i + 2 < length ? robots_hex_value(in[i + 1]) : -1;
      int lo = i + 2 < length ? robots_hex_value(in[i + 2]) : -1;
      if (hi >= 0 && lo >= 0) {
        unsigned char decoded = (unsigned char)(hi * 16 + lo);
        if (robots_is_unreserved(decoded))
          out[n++] = (char)decoded;
        else
          n = robots_put_escape(out, n, decoded);
        i += 2;
      } else {
        n = robots_put_escape(out, n, '%');
      }
    } else if (c == '*' && pattern) {
      out[n++] = '*';
    } else if (robots_is_unreserved(c) || robots_is_reserved(c)) {
      out[n++] = (char)c;
    } else {
      n = robots_put_escape(out, n, c);
    }
  }
  return n;
}

/* True when the pattern matches the start of the path (all of it when `anchored`). '*' matches
 * any run of octets. Greedy with one saved star position: when the text after the last star
 * fails, that star swallows one more octet and the match resumes from there; earlier stars
 * never need revisiting, so the cost is at most O(pattern * path), never exponential. */
static bool robots_match(const char *pattern, size_t pattern_length, bool anchored,
                         const char *path, size_t path_length) {
  size_t p = 0, s = 0;
  size_t star = SIZE_MAX, star_s = 0;
  for (;;) {
    if (p == pattern_length) {
      if (!anchored || s == path_length)
        return true;
    } else if (pattern[p] == '*') {
      star = p++;
      star_s = s;
      continue;
    } else if (s < path_length && pattern[p] == path[s]) {
      p++;
      s++;
      continue;
    }
    if (star == SIZE_MAX || star_s >= path_length)
      return false;
    p = star + 1;
    s = ++star_s;
  }
}

static void robots_rules_free(struct robots_rules *rules) {
  for (size_t i = 0; i < rules->count; i++)
    free(rules->items[i].pattern);
  free(rules->items);
  rules->items = NULL;
  rules->count = rules->capacity = 0;
}

/* Appends a rule for the raw pattern value[0..length) (not empty). False when out of memory. */
static bool robots_rules_add(struct robots_rules *rules, bool allow, const char *value,
                             size_t length) {
  if (rules->count == rules->capacity) {
    size_t capacity = rules->capacity ? rules->capacity * 2 : 8;
    struct robots_rule *items = realloc(rules->items, capacity * sizeof *items);
    if (!items)
      return false;
    rules->items = items;
    rules->capacity = capacity;
  }
  bool anchored = value[length - 1] == '$';
  if (anchored)
    length--;
  char *pattern = malloc(3 * length + 1);
  if (!pattern)
    return false;
  size_t canonical = robots_canonical(value, length, true, pattern);
  pattern[canonical] = '\0';
  rules->items[rules->count++] = (struct robots_rule){
      .pattern = pattern,
      .length = canonical,
      .specificity = canonical + (anchored ? 1 : 0),
      .allow = allow,
      .anchored = anchored,
  };
  return true;
}

/* A Crawl-delay value: digits with an optional fraction ("10", "0.5", ".5"), capped at
 * ROBOTS_MAX_CRAWL_DELAY. False for anything else (signs, exponents, units, "inf"). */
static bool robots_parse_delay(const char *value, size_t length, double *out) {
  double seconds = 0, scale = 1;
  bool digits = false, fraction = false;
  for (size_t i = 0; i < length; i++) {
    char c = value[i];
    if (c == '.' && !fraction) {
      fraction = true;
    } else if (c >= '0' && c <= '9') {
      digits = true;
      if (fraction) {
        scale /= 10;
        seconds += (c - '0') * scale;
      } else if (seconds <= ROBOTS_MAX_CRAWL_DELAY) {
        seconds = seconds * 10 + (c - '0');
      }
    } else {
      return false;
    }
  }
  if (!digits)
    return false;
  *out = seconds > ROBOTS_MAX_CRAWL_DELAY ? ROBOTS_MAX_CRAWL_DELAY : seconds;
  return true;
}

static void robots_on_user_agent(struct robots_parser *parser, const char *value, size_t length) {
  if (parser->after_rules || !parser->in_group) {
    parser->group_named = parser->group_star = false;
    parser->after_rules = false;
  }
  parser->in_group = true;
  if (length >= 1 && value[0] == '*' && (length == 1 || robots_is_space(value[1]))) {
    parser->group_star = parser->star.seen = true;
    return;
  }
  size_t token = robots_product_token(value, length);
  if (token == 0 || token != parser->agent_length)
    return;
  for (size_t i = 0; i < token; i++)
    if (robots_lower(value[i]) != robots_lower(parser->agent[i]))
      return;
  parser->group_named = parser->named.seen = true;
}

static void robots_on_rule(struct robots_parser *parser, bool allow, const char *value,
                           size_t length) {
  if (!parser->in_group)
    return; /* rules before the first user-agent line belong to no group */
  parser->after_rules = true;
  if (length == 0)
    return; /* "Disallow:" with no path disallows nothing */
  if (parser->group_named && !robots_rules_add(&parser->named.rules, allow, value, length))
    parser->out_of_memory = true;
  if (parser->group_star && !robots_rules_add(&parser->star.rules, allow, value, length))
    parser->out_of_memory = true;
}

/* Crawl-delay is a member of the group but, like any record other than allow/disallow
 * (RFC 9309 2.2.4), does not end the group's run of user-agent lines. */
static void robots_on_crawl_delay(struct robots_parser *parser, const char *value, size_t length) {
  double seconds;
  if (!parser->in_group || !robots_parse_delay(value, length, &seconds))
    return;
  struct robots_collector *collectors[] = {parser->group_named ? &parser->named : NULL,
                                           parser->group_star ? &parser->star : NULL};
  for (size_t i = 0; i < 2; i++)
    if (collectors[i] && !collectors[i]->has_delay) {
      collectors[i]->crawl_delay = seconds;
      collectors[i]->has_delay = true;
    }
}

/* One line, without its line end: "key: value # comment", whitespace optional. Lines without
 * a ':' and unknown keys (Sitemap, Host, ...) are ignored. */
static void robots_parse_line(struct robots_parser *parser, const char *line, size_t length) {
  const char *comment = memchr(line, '#', length);
  if (comment)
    length = (size_t)(comment - line);
  const char *colon = memchr(line, ':', length);
  if (!colon)
    return;
  const char *key = line, *key_end = colon;
  while (key < key_end && robots_is_space(*key))
    key++;
  while (key_end > key && robots_is_space(key_end[-1]))
    key_end--;
  const char *value = colon + 1, *value_end = line + length;
  while (value < value_end && robots_is_space(*value))
    value++;
  while (value_end > value && robots_is_space(value_end[-1]))
    value_end--;
  size_t key_length = (size_t)(key_end - key), value_length = (size_t)(value_end - value);

  if (robots_key_is(key, key_length, "user-agent"))
    robots_on_user_agent(parser, value, value_length);
  else if (robots_key_is(key, key_length, "allow"))
    robots_on_rule(parser, true, value, value_length);
  else if (robots_key_is(key, key_length, "disallow"))
    robots_on_rule(parser, false, value, value_length);
  else if (robots_key_is(key, key_length, "crawl-delay"))
    robots_on_crawl_delay(parser, value, value_length);
}

static struct robots *robots_new(void) { return calloc(1, sizeof(struct robots)); }

struct robots *robots_parse(const char *text, size_t length, const char *agent) {
  struct robots *robots = robots_new();
  if (!robots)
    return NULL;
  if (!agent)
    agent = "";
  struct robots_parser parser = {.agent = agent,
                                 .agent_length = robots_product_token(agent, strlen(agent))};

  bool truncated = length > ROBOTS_MAX_BYTES;
  const char *end = text + (truncated ? ROBOTS_MAX_BYTES : length);
  const char *p = text;
  if (end - p >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
    p += 3;
  while (p < end && !parser.out_of_memory) {
    const char *line = p;
    while (p < end && *p != '\n' && *p != '\r')
      p++;
    /* A line cut by the size limit is dropped: its tail might have changed its meaning. */
    if (p == end && truncated && *end != '\n' && *end != '\r')
      break;
    robots_parse_line(&parser, line, (size_t)(p - line));
    p++; /* a CRLF ends the line at CR and leaves an empty line, which means nothing */
  }

  /* The agent's groups if any names it, else the "*" groups, else no rules at all. */
  struct robots_collector *chosen = parser.named.seen  ? &parser.named
                                    : parser.star.seen ? &parser.star
                                                       : NULL;
  if (!parser.out_of_memory && chosen) {
    robots->rules = chosen->rules;
    robots->crawl_delay = chosen->crawl_delay;
    chosen->rules = (struct robots_rules){0};
  }
  robots_rules_free(&parser.named.rules);
  robots_rules_free(&parser.star.rules);
  if (parser.out_of_memory) {
    robots_free(robots);
    return NULL;
  }
  return robots;
}

struct robots *robots_allow_all(void) {
  return robots_new();
}

struct robots *robots_disallow_all(void) {
  struct robots *robots = robots_new();
  if (robots && !robots_rules_add(&robots->rules, false, "/", 1)) {
    robots_free(robots);
    return NULL;
  }
  return robots;
}

/* /robots.txt itself (RFC 9309 2.2.2), with or without a query. */
static bool robots_is_robots_txt(const char *path, size_t length) {
  static const char name[] = "/robots.txt";
  size_t name_length = sizeof name - 1;
  return length >= name_length && memcmp(path, name, name_length) == 0 &&
         (length == name_length || path[name_length] == '?');
}

bool robots_allows(const struct robots *robots, const char *path) {
  return robots_check(robots, path, NULL, 0);
}

bool robots_check(const struct robots *robots, const char *path, char *rule_text,
                  size_t rule_size) {
  if (!path || !*path)
    path = "/";
  size_t length = strlen(path);
  char buffer[ROBOTS_PATH_BUFFER];
  char *heap = NULL;
  char *out = buffer;
  if (3 * length + 1 > sizeof buffer)
    out = heap = length < SIZE_MAX / 4 ? malloc(3 * length + 1) : NULL;
  /* Out of memory: match the path as given, which is right for most paths. */
  const char *canonical = out ? out : path;
  size_t canonical_length = out ? robots_canonical(path, length, false, out) : length;

  bool allowed = true;
  if (!robots_is_robots_txt(canonical, canonical_length)) {
    size_t best_allow = 0, best_disallow = 0;
    bool any_allow = false, any_disallow = false;
    const struct robots_rule *winning_disallow = NULL;
    for (size_t i = 0; i < robots->rules.count; i++) {
      const struct robots_rule *rule = &robots->rules.items[i];
      size_t *best = rule->allow ? &best_allow : &best_disallow;
      bool *any = rule->allow ? &any_allow : &any_disallow;
      if ((*any && rule->specificity <= *best) ||
          !robots_match(rule->pattern, rule->length, rule->anchored, canonical, canonical_length))
        continue;
      *best = rule->specificity;
      *any = true;
      if (!rule->allow)
        winning_disallow = rule;
    }
    allowed = !any_disallow || (any_allow && best_allow >= best_disallow);
    if (!allowed && rule_text && rule_size)
      snprintf(rule_text, rule_size, "Disallow: %.*s%s", (int)winning_disallow->length,
               winning_disallow->pattern, winning_disallow->anchored ? "$" : "");
  }
  free(heap);
  return allowed;
}

double robots_crawl_delay(const struct robots *robots) { return robots->crawl_delay; }

void robots_free(struct robots *robots) {
  if (!robots)
    return;
  robots_rules_free(&robots->rules);
  free(robots);
}
