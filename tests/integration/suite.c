/* The integration suite: one plain and one TLS test server for the whole group, then every
 * test runs the real afetch binary against them. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "harness.h"
#include "tests.h"

struct h_server *h_http;
struct h_server *h_tls;

static struct h_server http_server, tls_server;

static int group_setup(void **state) {
  (void)state;
  if (h_server_start(&http_server, false) != 0) {
    fprintf(stderr, "integration: cannot start the test server (TEST_SERVER_BIN=%s)\n",
            getenv("TEST_SERVER_BIN") ? getenv("TEST_SERVER_BIN") : "(unset)");
    return -1;
  }
  h_http = &http_server;
  /* Only the TLS test needs this one: if it cannot start, that test fails, not the group. */
  if (h_server_start(&tls_server, true) == 0)
    h_tls = &tls_server;
  else
    fprintf(stderr, "integration: cannot start the TLS test server\n");
  return 0;
}

static int group_teardown(void **state) {
  (void)state;
  if (h_tls != NULL)
    h_server_stop(h_tls);
  if (h_http != NULL)
    h_server_stop(h_http);
  h_tls = h_http = NULL;
  return 0;
}

#define TEST(name) cmocka_unit_test_teardown(name, h_teardown)

int main(void) {
  /* Writing to a child that has exited must fail with EPIPE, not kill the suite. Children get
   * the default disposition back before exec (harness.c). */
  signal(SIGPIPE, SIG_IGN);
  setvbuf(stdout, NULL, _IOLBF, 0);
  /* AFETCH_IT_FILTER="download_*" runs only the tests whose names match (cmocka's pattern). */
  const char *filter = getenv("AFETCH_IT_FILTER");
  if (filter != NULL && *filter != '\0')
    cmocka_set_test_filter(filter);

  const struct CMUnitTest tests[] = {
      TEST(help_and_version_exit_0),
      TEST(usage_errors_exit_2_and_fetch_nothing),
      TEST(result_fields_describe_the_transfer),
      TEST(invalid_urls_become_error_results),
      TEST(connection_refused_is_connect_error),
      TEST(http_error_status_is_not_ok),
      TEST(empty_reply_is_other_error),
      TEST(redirects_are_followed_and_counted),
      TEST(request_shaping_reaches_the_server),
      TEST(invalid_utf8_from_server_yields_valid_utf8_json),
      TEST(tls_verifies_unless_told_otherwise),
      TEST(gather_keeps_input_order),
      TEST(ndjson_emits_in_completion_order),
      TEST(stdin_streams_results),
      TEST(timeout_is_per_request),
      TEST(concurrency_is_bounded_and_used),
      TEST(many_urls_stream_through),
      TEST(closed_stdout_ends_quietly),
      TEST(sigint_mid_run_leaves_valid_json),
      TEST(sigterm_mid_run_leaves_valid_ndjson),
      TEST(sighup_mid_run_leaves_valid_json_and_saved_state),
      TEST(nohup_run_ignores_sighup),
      TEST(url_arguments_mix_with_files_and_stdin),
      TEST(reading_a_terminal_says_so),
      TEST(speed_limit_fails_a_trickling_transfer),
      TEST(retries_recover_transient_failures),
      TEST(retry_after_seconds_is_honoured),
      TEST(retry_after_date_is_honoured),
      TEST(long_retry_after_ends_retries),
      TEST(waiting_retry_holds_no_slot),
      TEST(per_host_limit_has_no_head_of_line_blocking),
      TEST(rate_limit_spaces_request_starts),
      TEST(deadline_stops_unfinished_urls),
      TEST(deadline_ends_an_open_stdin_stream),
      TEST(deadline_reaches_urls_waiting_to_retry),
      TEST(sigterm_reports_waiting_retry_as_cancelled),
      TEST(http2_multiplexes_requests_on_one_connection),
      TEST(connections_are_reused),
      TEST(download_saves_bodies_into_an_empty_dir),
      TEST(if_changed_skips_unchanged_files),
      TEST(sigterm_mid_download_leaves_no_partial_file),
      TEST(dropped_connection_mid_body_keeps_old_file),
      TEST(hostile_urls_stay_inside_the_output_dir),
      TEST(too_large_is_enforced_without_content_length),
      TEST(sha256_and_body_are_reported),
      TEST(write_errors_are_results_not_crashes),
      TEST(output_template_names_files),
      TEST(crawl_depth_limits_pages),
      TEST(crawl_dedupes_cycles_and_redirects),
      TEST(crawl_scope_host_domain_prefix),
      TEST(crawl_respects_max_pages),
      TEST(crawl_robots_rules_are_honoured),
      TEST(crawl_gather_order_is_seeds_then_breadth_first),
      TEST(crawl_links_lists_links),
      TEST(crawl_is_bounded_and_terminates_on_large_site),
      TEST(progress_line_shows_in_a_terminal_and_is_cleared),
      TEST(progress_stays_off_when_stderr_is_not_a_terminal),
      TEST(stats_match_the_results),
      TEST(json_lines_input_sets_per_request_options),
      TEST(json_lines_bad_input_is_an_error_result),
      TEST(json_lines_wrong_types_are_error_results),
      TEST(json_lines_invalid_utf8_id_comes_back_valid),
      TEST(json_lines_output_names_the_file),
      TEST(stats_json_writes_devices_in_place_and_follows_links),
      TEST(if_changed_state_through_a_symlink_updates_its_target),
      TEST(planted_symlinks_under_the_output_dir_are_not_followed),
      TEST(stale_temp_files_of_killed_runs_are_removed),
      TEST(second_run_on_a_locked_state_file_exits_2),
      TEST(state_validators_cannot_inject_headers),
      TEST(idn_host_names_are_fetched_in_any_locale),
      TEST(low_open_file_limit_lowers_concurrency),
      TEST(byte_order_mark_at_input_start_is_skipped),
      TEST(crawl_trap_ends_at_max_pages),
      TEST(data_from_stdin_never_eats_the_url_list),
      TEST(http2_goaway_loses_no_request),
      TEST(http09_reply_is_a_transfer_error_not_an_invalid_url),
      TEST(tls_client_certificate_required_is_tls_and_not_retried),
      TEST(stalled_tls_handshake_reports_the_real_wait),
      TEST(proxy_failures_name_the_proxy_and_retry_only_transient_refusals),
      TEST(authorization_goes_to_another_host_only_with_location_trusted),
      TEST(progress_bar_fits_the_terminal_width),
      TEST(progress_never_mixes_with_results_on_the_same_terminal),
      TEST(progress_lines_for_logs_end_with_newlines),
      TEST(crawl_page_requisites_are_fetched_one_level_beyond),
      TEST(crawl_depth_is_exact_while_a_shallow_page_is_slow),
      TEST(crawl_depth_is_exact_on_random_graphs_with_slow_pages),
      TEST(crawl_big_page_is_parsed_whole_in_slices),
      TEST(proxy_option_sends_requests_through_the_proxy),
      TEST(user_credentials_stay_with_the_first_host_unless_location_trusted),
      TEST(cookies_are_kept_for_the_run_and_written_to_the_jar),
      TEST(cookie_jar_is_written_when_a_signal_ends_the_run),
      TEST(compressed_bodies_are_decoded_and_the_wire_size_reported),
      TEST(client_certificate_and_head_and_limit_rate),
      TEST(config_files_are_read_and_the_command_line_wins),
      TEST(bad_network_option_values_exit_2_with_a_usage_line),
      TEST(rate_run_ends_with_its_last_result),
      TEST(retry_all_errors_retries_any_status),
      TEST(result_fields_are_absent_without_their_options),
      TEST(include_headers_keeps_repeated_names_in_lower_case),
      TEST(include_headers_is_capped_at_100_kib),
      TEST(location_is_given_for_a_redirect_not_followed),
      TEST(redirects_chain_lists_every_hop),
      TEST(method_and_started_at_describe_the_attempt),
      TEST(result_fields_rejects_unknown_keys),
      TEST(journal_resumes_after_sigkills_with_each_line_once),
      TEST(journal_torn_last_line_is_cut_and_refetched),
      TEST(journal_refuses_other_inputs_options_stdin_and_foreign_files),
      TEST(journal_on_a_full_disk_exits_3_and_keeps_whole_lines),
      TEST(merge_orders_unsorted_inputs_through_small_runs),
      TEST(shards_together_fetch_each_line_once),
      TEST(shard_by_line_splits_evenly),
      TEST(shard_env_reads_batch_variables_and_bad_values_exit_2),
      TEST(crawl_shards_split_seeds_by_host),
      TEST(merge_refuses_a_pipe),
      TEST(crawl_journal_resumes_after_sigkills_with_each_page_once),
      TEST(merge_ends_its_array_on_a_signal),
      TEST(download_killed_at_half_resumes_with_range_and_if_range),
      TEST(download_dropped_at_half_is_resumed_by_the_retry),
      TEST(download_from_a_server_without_ranges_is_fetched_whole),
      TEST(download_whose_validator_changed_is_fetched_whole),
      TEST(partial_of_another_url_or_behind_a_symlink_is_never_used),
      TEST(partial_that_cannot_be_continued_is_fetched_whole),
      TEST(server_ignoring_if_range_cannot_splice_two_versions),
      TEST(no_resume_keeps_no_partial_and_asks_no_range),
      TEST(small_body_is_fetched_again_not_resumed),
      TEST(host_pause_holds_every_url_of_its_host_only),
      TEST(adaptive_settles_below_a_429_limit),
      TEST(adaptive_follows_a_server_with_four_workers),
      TEST(per_host_rate_and_delay_space_each_host),
      TEST(connect_failures_in_a_row_pause_their_host),
      TEST(retry_after_pauses_its_host_with_plain_retries),
      TEST(queue_workers_fetch_each_entry_once),
      TEST(queue_survives_a_killed_worker),
      TEST(queue_waits_for_a_stopped_redis),
      TEST(queue_invalid_entries_and_dead_letters),
      TEST(queue_refusals_exit_2_and_unreachable_redis_3),
      TEST(queue_reconnects_when_redis_restarts),
      TEST(queue_per_host_holds_across_workers),
      TEST(queue_crawl_across_workers_equals_one_process),
      TEST(queue_worker_options_without_a_worker_exit_2),
      TEST(short_range_answer_is_not_saved_as_the_whole_file),
      TEST(crawl_journal_resumes_page_requisites_once),
      TEST(queue_failing_url_ends_in_the_dead_letters),
      TEST(queue_failure_then_success_is_one_ok_result),
      TEST(queue_final_failures_are_written_at_once),
      TEST(queue_failure_given_back_writes_nothing),
      TEST(queue_crawl_keeps_links_redis_refused),
      TEST(queue_crawl_max_pages_holds_for_the_fleet),
      TEST(queue_rate_is_shared_by_the_fleet),
      TEST(queue_worker_reaches_redis_by_host_name),
  };
  return cmocka_run_group_tests_name("afetch integration", tests, group_setup, group_teardown);
}
