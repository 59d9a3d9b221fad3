#!/usr/bin/env bash
# The integration suite once more, with every afetch run on the main thread alone
# (--threads=1), so that the single-loop mode meets the same specification at any -c: the
# default (--threads auto) uses it only below 8 transfers or on one CPU.
exec env AFETCH_TEST_ARGS=--threads=1 "${INTEGRATION_BIN:?INTEGRATION_BIN is not set}" "$@"
