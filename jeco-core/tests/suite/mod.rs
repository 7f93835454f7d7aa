//! The backend-independent conformance suite. `sqlite.rs` and `postgres.rs` each expand
//! [`conformance_suite!`] with their own harness, so every case runs on every backend.

#![allow(dead_code)]

pub mod accounts;
pub mod delivery;
pub mod guarantees;
pub mod harness;
pub mod messages;
pub mod retries;
pub mod rooms;
pub mod sessions;
pub mod social;

/// Expands to one `#[tokio::test]` per case, inside a module named after the suite module.
macro_rules! cases {
    ($make:expr; $module:ident: $($name:ident),* $(,)?) => {
        mod $module {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let h = $make.await;
                    crate::suite::$module::$name(h).await;
                }
            )*
        }
    };
}

/// Every case of the suite, run against the harness `$make` builds.
macro_rules! conformance_suite {
    ($make:expr) => {
        cases!($make; accounts:
            register_login_and_me,
            register_rejects_bad_input_and_duplicates,
            login_failures_look_alike,
            access_tokens_authenticate,
            refresh_rotates_and_reuse_revokes_the_family,
            logout_revokes_refresh,
            profile_update_rules,
            change_password_signs_out_other_logins,
            password_reset_flow,
            expired_reset_token_is_refused,
            general_room_is_created_once,
        );
        cases!($make; rooms:
            create_list_join_leave,
            room_name_rules_and_uniqueness,
            private_room_hidden_until_invited,
            kick_and_roles,
            owner_leaving_hands_over,
            direct_room_is_unique_and_private,
            block_stops_direct_messages,
            read_markers_unread_and_read_by,
        );
        cases!($make; guarantees:
            acknowledged_messages_survive_a_restart,
            writes_per_message_do_not_grow_with_room_size,
            typing_and_presence_never_touch_sql,
            concurrent_acknowledged_sends_survive_a_restart,
            concurrent_sends_are_published_in_sequence_order,
        );
        cases!($make; messages:
            send_and_history_pagination,
            send_is_idempotent_by_client_id,
            send_validation_changes_nothing,
            edit_and_delete_rules,
            mentions_are_recorded_and_notified,
            replies_notify_the_author,
            forward_into_another_conversation,
            reactions_toggle_aggregate_and_notify,
            changes_after_resumes_without_gaps,
            live_events_follow_commits,
            concurrent_sends_are_gap_free,
            concurrent_retries_make_one_message,
            a_refused_send_leaves_the_rest_of_its_group_in,
            a_group_stores_each_client_id_once,
            edits_update_mentions_and_notify_only_the_newly_mentioned,
            mentions_of_strangers_do_not_use_up_the_allowance,
            deleting_a_message_withdraws_its_files,
            a_retried_forward_copies_nothing_twice,
            explicit_reactions_are_safe_to_retry,
        );
        cases!($make; delivery:
            presence_reaches_room_mates_and_watchers_once,
            public_rooms_announce_activity_to_those_not_in_them,
            reading_a_conversation_reads_its_notifications,
            a_dropped_session_releases_presence,
            a_room_joined_while_a_session_opens_is_followed,
        );
        cases!($make; retries:
            a_retried_send_gets_its_original_whatever_changed_since,
            concurrent_reactions_keep_the_rules,
            a_store_failure_during_a_send_is_internal,
        );
        cases!($make; sessions:
            commands_are_acked_and_events_arrive_in_order,
            resume_replays_what_was_missed_once,
            joining_a_room_starts_its_stream,
            bad_commands_get_errors_and_change_nothing,
            presence_follows_sessions,
            resume_clamps_positions_past_the_end,
            sending_ends_typing,
            feed_replay_is_complete_and_not_repeated,
            a_password_change_closes_open_connections,
            ready_positions_match_the_store,
            a_resume_is_bounded_and_read_a_page_at_a_time,
        );
        cases!($make; social:
            direct_message_notifications_list_and_mark_read,
            notifications_paginate,
            feed_after_is_gap_free,
            search_users,
            search_results_respect_the_configured_limit,
            contacts_add_list_remove,
            presence_transitions_are_announced_once,
            typing_requires_membership_and_is_announced,
            uploads_sniff_type_and_limit_access,
            avatars_must_be_images_and_are_public,
            an_avatar_is_always_public,
            outsiders_cannot_touch_a_direct_conversation,
            unknown_ids_are_not_found,
        );
    };
}
