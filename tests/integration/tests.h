/* The integration tests, one function per behaviour (registered in suite.c). */
#ifndef AFETCH_IT_TESTS_H
#define AFETCH_IT_TESTS_H

/* test_fetch.c */
void concurrency_is_bounded_and_used(void **state);
void timeout_is_per_request(void **state);
void gather_keeps_input_order(void **state);
void ndjson_emits_in_completion_order(void **state);
void invalid_urls_become_error_results(void **state);
void connection_refused_is_connect_error(void **state);
void redirects_are_followed_and_counted(void **state);
void http_error_status_is_not_ok(void **state);
void request_shaping_reaches_the_server(void **state);
void result_fields_describe_the_transfer(void **state);
void tls_verifies_unless_told_otherwise(void **state);
void invalid_utf8_from_server_yields_valid_utf8_json(void **state);
void empty_reply_is_other_error(void **state);
void many_urls_stream_through(void **state);

/* test_cli.c */
void usage_errors_exit_2_and_fetch_nothing(void **state);
void help_and_version_exit_0(void **state);
void stdin_streams_results(void **state);
void closed_stdout_ends_quietly(void **state);
void sigint_mid_run_leaves_valid_json(void **state);
void sigterm_mid_run_leaves_valid_ndjson(void **state);
void sighup_mid_run_leaves_valid_json_and_saved_state(void **state);
void nohup_run_ignores_sighup(void **state);
void url_arguments_mix_with_files_and_stdin(void **state);
void reading_a_terminal_says_so(void **state);
void speed_limit_fails_a_trickling_transfer(void **state);

/* test_resilience.c */
void retries_recover_transient_failures(void **state);
void retry_after_seconds_is_honoured(void **state);
void retry_after_date_is_honoured(void **state);
void long_retry_after_ends_retries(void **state);
void waiting_retry_holds_no_slot(void **state);
void per_host_limit_has_no_head_of_line_blocking(void **state);
void rate_limit_spaces_request_starts(void **state);
void deadline_stops_unfinished_urls(void **state);
void deadline_ends_an_open_stdin_stream(void **state);
void deadline_reaches_urls_waiting_to_retry(void **state);
void sigterm_reports_waiting_retry_as_cancelled(void **state);
void connections_are_reused(void **state);

/* test_download.c */
void download_saves_bodies_into_an_empty_dir(void **state);
void if_changed_skips_unchanged_files(void **state);
void sigterm_mid_download_leaves_no_partial_file(void **state);
void dropped_connection_mid_body_keeps_old_file(void **state);
void hostile_urls_stay_inside_the_output_dir(void **state);
void too_large_is_enforced_without_content_length(void **state);
void sha256_and_body_are_reported(void **state);
void write_errors_are_results_not_crashes(void **state);
void output_template_names_files(void **state);

/* test_crawl.c */
void crawl_depth_limits_pages(void **state);
void crawl_dedupes_cycles_and_redirects(void **state);
void crawl_scope_host_domain_prefix(void **state);
void crawl_respects_max_pages(void **state);
void crawl_robots_rules_are_honoured(void **state);
void crawl_gather_order_is_seeds_then_breadth_first(void **state);
void crawl_links_lists_links(void **state);
void crawl_is_bounded_and_terminates_on_large_site(void **state);

/* test_http2.c */
void http2_multiplexes_requests_on_one_connection(void **state);

/* test_operator.c */
void progress_line_shows_in_a_terminal_and_is_cleared(void **state);
void progress_stays_off_when_stderr_is_not_a_terminal(void **state);
void stats_match_the_results(void **state);
void json_lines_input_sets_per_request_options(void **state);
void json_lines_bad_input_is_an_error_result(void **state);
void json_lines_wrong_types_are_error_results(void **state);
void json_lines_invalid_utf8_id_comes_back_valid(void **state);
void json_lines_output_names_the_file(void **state);
void http2_goaway_loses_no_request(void **state);
void http09_reply_is_a_transfer_error_not_an_invalid_url(void **state);
void tls_client_certificate_required_is_tls_and_not_retried(void **state);
void stalled_tls_handshake_reports_the_real_wait(void **state);
void proxy_failures_name_the_proxy_and_retry_only_transient_refusals(void **state);
void authorization_goes_to_another_host_only_with_location_trusted(void **state);

/* test_files.c */
void stats_json_writes_devices_in_place_and_follows_links(void **state);
void if_changed_state_through_a_symlink_updates_its_target(void **state);
void planted_symlinks_under_the_output_dir_are_not_followed(void **state);
void stale_temp_files_of_killed_runs_are_removed(void **state);
void second_run_on_a_locked_state_file_exits_2(void **state);
void state_validators_cannot_inject_headers(void **state);

/* test_input.c */
void idn_host_names_are_fetched_in_any_locale(void **state);
void low_open_file_limit_lowers_concurrency(void **state);
void byte_order_mark_at_input_start_is_skipped(void **state);
void crawl_trap_ends_at_max_pages(void **state);
void data_from_stdin_never_eats_the_url_list(void **state);

void progress_bar_fits_the_terminal_width(void **state);
void progress_never_mixes_with_results_on_the_same_terminal(void **state);
void progress_lines_for_logs_end_with_newlines(void **state);
void crawl_depth_is_exact_while_a_shallow_page_is_slow(void **state);
void crawl_depth_is_exact_on_random_graphs_with_slow_pages(void **state);

/* test_crawl.c: -p */
void crawl_page_requisites_are_fetched_one_level_beyond(void **state);

/* test_crawl.c: a big page parsed in slices */
void crawl_big_page_is_parsed_whole_in_slices(void **state);
/* test_curl_options.c: curl's network options */
void proxy_option_sends_requests_through_the_proxy(void **state);
void user_credentials_stay_with_the_first_host_unless_location_trusted(void **state);
void cookies_are_kept_for_the_run_and_written_to_the_jar(void **state);
void cookie_jar_is_written_when_a_signal_ends_the_run(void **state);
void compressed_bodies_are_decoded_and_the_wire_size_reported(void **state);
void client_certificate_and_head_and_limit_rate(void **state);
void config_files_are_read_and_the_command_line_wins(void **state);
void bad_network_option_values_exit_2_with_a_usage_line(void **state);

/* test_resilience.c: --rate ends with the last result */
void rate_run_ends_with_its_last_result(void **state);
/* test_result_fields.c: --include-headers, --result-fields */
void result_fields_are_absent_without_their_options(void **state);
void include_headers_keeps_repeated_names_in_lower_case(void **state);
void include_headers_is_capped_at_100_kib(void **state);
void location_is_given_for_a_redirect_not_followed(void **state);
void redirects_chain_lists_every_hop(void **state);
void method_and_started_at_describe_the_attempt(void **state);
void result_fields_rejects_unknown_keys(void **state);

/* test_resilience.c: --retry-all-errors */
void retry_all_errors_retries_any_status(void **state);
/* test_journal.c: --journal, --merge */
void journal_resumes_after_sigkills_with_each_line_once(void **state);
void journal_torn_last_line_is_cut_and_refetched(void **state);
void journal_refuses_other_inputs_options_stdin_and_foreign_files(void **state);
void journal_on_a_full_disk_exits_3_and_keeps_whole_lines(void **state);
void merge_orders_unsorted_inputs_through_small_runs(void **state);
/* test_shard.c: --shard, --shard-by, --shard env */
void shards_together_fetch_each_line_once(void **state);
void shard_by_line_splits_evenly(void **state);
void shard_env_reads_batch_variables_and_bad_values_exit_2(void **state);
void crawl_shards_split_seeds_by_host(void **state);

/* test_journal.c: --merge and pipes */
void merge_refuses_a_pipe(void **state);
/* test_politeness.c: host pauses, --adaptive, --per-host-rate, --per-host-delay */
void host_pause_holds_every_url_of_its_host_only(void **state);
void adaptive_settles_below_a_429_limit(void **state);
void adaptive_follows_a_server_with_four_workers(void **state);
void per_host_rate_and_delay_space_each_host(void **state);
void connect_failures_in_a_row_pause_their_host(void **state);
void retry_after_pauses_its_host_with_plain_retries(void **state);

/* test_crawl_journal.c: --crawl --journal, --merge and signals */
void crawl_journal_resumes_after_sigkills_with_each_page_once(void **state);
void merge_ends_its_array_on_a_signal(void **state);
/* test_resume.c: -o downloads resumed with Range + If-Range */
void download_killed_at_half_resumes_with_range_and_if_range(void **state);
void download_dropped_at_half_is_resumed_by_the_retry(void **state);
void download_from_a_server_without_ranges_is_fetched_whole(void **state);
void download_whose_validator_changed_is_fetched_whole(void **state);
void partial_of_another_url_or_behind_a_symlink_is_never_used(void **state);
void partial_that_cannot_be_continued_is_fetched_whole(void **state);
void server_ignoring_if_range_cannot_splice_two_versions(void **state);
void no_resume_keeps_no_partial_and_asks_no_range(void **state);
void small_body_is_fetched_again_not_resumed(void **state);

/* test_queue.c: --redis, --enqueue, --worker, --status */
void queue_workers_fetch_each_entry_once(void **state);
void queue_survives_a_killed_worker(void **state);
void queue_waits_for_a_stopped_redis(void **state);
void queue_invalid_entries_and_dead_letters(void **state);
void queue_refusals_exit_2_and_unreachable_redis_3(void **state);
void queue_reconnects_when_redis_restarts(void **state);
void queue_per_host_holds_across_workers(void **state);
void queue_crawl_across_workers_equals_one_process(void **state);
void queue_worker_options_without_a_worker_exit_2(void **state);
void short_range_answer_is_not_saved_as_the_whole_file(void **state);
void crawl_journal_resumes_page_requisites_once(void **state);
void queue_failing_url_ends_in_the_dead_letters(void **state);
void queue_failure_then_success_is_one_ok_result(void **state);
void queue_final_failures_are_written_at_once(void **state);
void queue_failure_given_back_writes_nothing(void **state);
void queue_crawl_keeps_links_redis_refused(void **state);
void queue_crawl_max_pages_holds_for_the_fleet(void **state);
void queue_rate_is_shared_by_the_fleet(void **state);
void queue_worker_reaches_redis_by_host_name(void **state);

#endif
