//! The end-to-end suite of the server: each case starts the real server on a free port over
//! a real backend and drives it over sockets. `sqlite.rs` and `postgres.rs` each expand
//! [`e2e_suite!`] with their backend, so every case runs on both.

#![allow(dead_code)]

pub mod abuse;
pub mod accounts;
pub mod bad_input;
pub mod clients;
pub mod connections;
pub mod cookies;
pub mod denials;
pub mod endings;
pub mod files;
pub mod harness;
pub mod messages;
pub mod openapi;
pub mod realtime;
pub mod rooms;
pub mod social;
pub mod uploads;
pub mod web;

/// Expands to one `#[tokio::test]` per case, inside a module named after the suite module.
macro_rules! cases {
    ($db:expr; $module:ident: $($name:ident),* $(,)?) => {
        mod $module {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    crate::e2e::$module::$name($db).await;
                }
            )*
        }
    };
}

/// Every case of the suite, on the backend `$db`.
macro_rules! e2e_suite {
    ($db:expr) => {
        cases!($db; accounts:
            register_login_and_the_protected_api,
            logout_revokes_the_refresh_token,
            password_reset_by_mail,
            user_search_and_contacts,
            profiles_avatars_passwords_and_blocks,
            private_answers_are_never_cached,
        );
        cases!($db; cookies:
            sign_in_with_a_refresh_cookie,
            refresh_by_cookie_rotates_it,
            cookie_requests_need_the_csrf_header_and_this_origin,
            logout_by_cookie_clears_and_revokes,
            password_change_keeps_the_browser_signed_in,
            the_cookie_is_secure_over_https,
            the_cookie_path_follows_the_base_path,
        );
        cases!($db; rooms:
            group_rooms_deliver_only_to_their_members,
            room_list_create_join_and_members,
            history_on_join_is_the_last_fifty,
            direct_messages_are_live_and_private,
        );
        cases!($db; social:
            direct_message_notifications,
            in_app_notifications,
            presence_online_and_offline,
            typing_starts_and_stops,
            blocking_hides_typing_and_presence,
            reactions_toggle_live_and_aggregate,
            read_receipts,
        );
        cases!($db; messages:
            edit_delete_forward_and_changes,
            send_validation_posts_nothing,
            group_commits_show_in_the_metrics,
        );
        cases!($db; files:
            files_and_images_are_shared_with_members_only,
            uploads_over_the_limit_are_refused,
        );
        cases!($db; uploads:
            a_stalled_upload_is_cut_off_and_leaves_nothing,
            uploads_in_flight_are_capped_per_user,
            an_oversized_streamed_upload_leaves_nothing,
        );
        cases!($db; realtime:
            reconnect_and_resume_replays_exactly_what_was_missed,
            a_resume_replays_from_the_given_position_then_goes_live,
            a_retried_send_after_a_lost_ack_posts_once,
            sse_carries_events_and_takes_commands,
            a_slow_consumer_is_dropped_and_resumes,
        );
        cases!($db; abuse:
            every_command_that_writes_has_a_budget,
            the_sign_in_limit_is_the_documented_one,
            a_resume_replays_each_room_once,
        );
        cases!($db; connections:
            a_half_sent_request_head_is_closed_after_the_header_timeout,
            a_stalled_request_is_dropped_but_a_quiet_websocket_is_not,
            connections_over_the_cap_are_closed_and_counted,
            metrics_are_not_public_without_the_token,
        );
        cases!($db; web:
            the_web_dir_serves_no_dot_files_and_nothing_outside_it,
            assets_are_cached_for_good_and_the_page_never,
            precompressed_siblings_are_served_to_who_accepts_them,
            the_api_is_never_shadowed_by_the_page,
            the_default_web_dir_is_the_built_client,
        );
        cases!($db; endings:
            a_client_that_stops_reading_is_let_go,
            shutdown_waits_for_every_connection_to_say_goodbye,
        );
        cases!($db; denials:
            outsiders_cannot_touch_private_conversations,
            others_messages_and_notifications_are_off_limits,
        );
        cases!($db; bad_input:
            malformed_requests_change_nothing,
            expired_and_forged_tokens_are_refused,
            bad_frames_get_errors_and_the_socket_stays_usable,
            an_oversize_frame_is_refused_and_changes_nothing,
            rate_limits_answer_rate_limited,
            tickets_are_single_use_and_connections_are_capped,
        );
        cases!($db; openapi:
            openapi_lists_exactly_the_served_routes,
            openapi_error_codes_are_the_protocols,
            openapi_document_is_valid,
            errors_outside_operations_are_error_bodies,
            the_printed_document_is_the_served_one,
        );
    };
}
