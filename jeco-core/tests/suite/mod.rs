//! The backend-independent conformance suite. `sqlite.rs` and `postgres.rs` each expand
//! [`conformance_suite!`] with their own harness, so every case runs on every backend.

#![allow(dead_code)]

pub mod accounts;
pub mod harness;
pub mod messages;
pub mod rooms;
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
        cases!($make; messages:
        );
        cases!($make; social:
        );
    };
}
