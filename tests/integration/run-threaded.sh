#!/usr/bin/env bash
# The integration suite once more, with every afetch run on two worker threads, so that the
# threaded mode meets the same specification as the default one.
exec env AFETCH_TEST_ARGS=--threads=2 "${INTEGRATION_BIN:?INTEGRATION_BIN is not set}" "$@"
