/* The --deadline arithmetic. */
#include "afetch/deadline.h"

void deadline_init(struct deadline *deadline, long limit_ms, int64_t now_us) {
  deadline->set = limit_ms > 0;
  deadline->at_us = deadline->set ? now_us + (int64_t)limit_ms * 1000 : 0;
}

int64_t deadline_wait_us(const struct deadline *deadline, int64_t now_us) {
  if (!deadline->set)
    return -1;
  return deadline->at_us > now_us ? deadline->at_us - now_us : 0;
}
