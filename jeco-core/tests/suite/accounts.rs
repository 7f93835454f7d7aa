//! Accounts: registration, login, tokens, profiles, passwords.

use jeco_core::Limits;
use jeco_core::model::ProfileUpdate;

use super::harness::{Harness, PASSWORD};

/// The reset token from the last mail: the link carries it after `#token=`.
fn token_from_mail(h: &Harness) -> String {
    let mails = h.mailer.take();
    let mail = mails.last().expect("a reset mail was sent");
    let start = mail.body.find("#token=").expect("link with token") + "#token=".len();
    mail.body[start..]
        .split_whitespace()
        .next()
        .expect("token")
        .to_owned()
}

pub async fn register_login_and_me(h: Harness) {
    let alice = h.user("Alice").await;
    assert_eq!(alice.session.account.profile.username, "alice");
    assert_eq!(alice.session.account.email, "alice@example.com");

    let accounts = h.engine.accounts();
    let by_name = accounts.login("ALICE", PASSWORD).await.unwrap();
    let by_email = accounts.login("Alice@Example.com", PASSWORD).await.unwrap();
    assert_eq!(by_name.account.profile.id, alice.id);
    assert_eq!(by_email.account.profile.id, alice.id);
    assert_ne!(by_name.tokens.refresh_token, by_email.tokens.refresh_token);
    assert_eq!(accounts.me(alice.id).await.unwrap(), alice.session.account);

    // New users land in `general`, so a fresh install has somewhere to talk.
    let rooms = h.engine.rooms().list(alice.id).await.unwrap();
    let general = rooms
        .iter()
        .find(|r| r.room.id == h.engine.general_room())
        .expect("general is listed");
    assert_eq!(general.room.name.as_deref(), Some("general"));
    assert_eq!(general.role, Some(jeco_core::model::Role::Member));
}

pub async fn register_rejects_bad_input_and_duplicates(h: Harness) {
    let accounts = h.engine.accounts();
    let cases = [
        (
            "ab",
            "ab@example.com",
            "long enough pw 1",
            "invalid_username",
        ),
        (
            "bad name",
            "b@example.com",
            "long enough pw 1",
            "invalid_username",
        ),
        ("bob", "not-an-email", "long enough pw 1", "invalid_email"),
        ("bob", "bob@example.com", "short", "weak_password"),
        ("bob", "bob@example.com", "12345678901", "weak_password"),
        ("bob", "bob@example.com", "my-bob-password", "weak_password"),
        ("bob", "bob@example.com", "password123", "weak_password"),
    ];
    for (name, email, password, code) in cases {
        let err = accounts.register(name, email, password).await.unwrap_err();
        assert_eq!(err.code(), code, "{name} {email} {password}");
    }
    // None of the refused registrations created an account.
    assert_eq!(
        accounts
            .login("bob", "long enough pw 1")
            .await
            .unwrap_err()
            .code(),
        "invalid_credentials"
    );

    h.user("carol").await;
    let taken = accounts
        .register("CAROL", "other@example.com", "long enough pw 1")
        .await
        .unwrap_err();
    assert_eq!(taken.code(), "username_taken");
    let taken = accounts
        .register("carol2", "Carol@Example.com", "long enough pw 1")
        .await
        .unwrap_err();
    assert_eq!(taken.code(), "email_taken");
    assert_eq!(
        accounts
            .login("carol2", "long enough pw 1")
            .await
            .unwrap_err()
            .code(),
        "invalid_credentials"
    );
}

pub async fn login_failures_look_alike(h: Harness) {
    h.user("dave").await;
    let accounts = h.engine.accounts();
    let wrong_password = accounts
        .login("dave", "not the password")
        .await
        .unwrap_err();
    let no_such_user = accounts
        .login("nobody", "not the password")
        .await
        .unwrap_err();
    assert_eq!(wrong_password.code(), "invalid_credentials");
    assert_eq!(no_such_user.code(), wrong_password.code());
    assert_eq!(no_such_user.to_string(), wrong_password.to_string());
    assert_eq!(
        accounts.login("", "").await.unwrap_err().code(),
        "invalid_credentials"
    );
}

pub async fn access_tokens_authenticate(h: Harness) {
    let erin = h.user("erin").await;
    let accounts = h.engine.accounts();
    let token = &erin.session.tokens.access_token;
    assert_eq!(accounts.authenticate(token).unwrap(), erin.id);

    // Flip one character of the signature: forged.
    let mut forged = token.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    assert_eq!(
        accounts.authenticate(&forged).unwrap_err().code(),
        "invalid_token"
    );
    assert_eq!(
        accounts.authenticate("").unwrap_err().code(),
        "invalid_token"
    );
    // The refresh token is not an access token.
    assert_eq!(
        accounts
            .authenticate(&erin.session.tokens.refresh_token)
            .unwrap_err()
            .code(),
        "invalid_token"
    );
}

pub async fn refresh_rotates_and_reuse_revokes_the_family(h: Harness) {
    let frank = h.user("frank").await;
    let accounts = h.engine.accounts();
    let other_login = accounts.login("frank", PASSWORD).await.unwrap();

    let first = frank.session.tokens.refresh_token.clone();
    let second = accounts.refresh(&first).await.unwrap();
    assert_ne!(second.refresh_token, first);
    assert_eq!(
        accounts.authenticate(&second.access_token).unwrap(),
        frank.id
    );

    // The first token was already used: someone copied it. Its whole family goes.
    assert_eq!(
        accounts.refresh(&first).await.unwrap_err().code(),
        "invalid_token"
    );
    assert_eq!(
        accounts
            .refresh(&second.refresh_token)
            .await
            .unwrap_err()
            .code(),
        "invalid_token"
    );
    // A separate login is a separate family and keeps working.
    let other = accounts
        .refresh(&other_login.tokens.refresh_token)
        .await
        .unwrap();
    accounts.refresh(&other.refresh_token).await.unwrap();

    assert_eq!(
        accounts.refresh("garbage").await.unwrap_err().code(),
        "invalid_token"
    );
}

pub async fn logout_revokes_refresh(h: Harness) {
    let gina = h.user("gina").await;
    let accounts = h.engine.accounts();
    let rotated = accounts
        .refresh(&gina.session.tokens.refresh_token)
        .await
        .unwrap();
    accounts.logout(&rotated.refresh_token).await.unwrap();
    assert_eq!(
        accounts
            .refresh(&rotated.refresh_token)
            .await
            .unwrap_err()
            .code(),
        "invalid_token"
    );
    // Logging out twice, or with nonsense, is harmless.
    accounts.logout(&rotated.refresh_token).await.unwrap();
    accounts.logout("nonsense").await.unwrap();
}

pub async fn profile_update_rules(h: Harness) {
    let hana = h.user("hana").await;
    let ivan = h.user("ivan").await;
    let accounts = h.engine.accounts();
    let updated = accounts
        .update_profile(
            hana.id,
            ProfileUpdate {
                display_name: Some("  Hana K. ".into()),
                bio: Some("Likes\nrust".into()),
                avatar: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.profile.display_name, "Hana K.");
    assert_eq!(updated.profile.bio, "Likes\nrust");
    assert_eq!(
        accounts.profile(ivan.id, hana.id).await.unwrap(),
        updated.profile
    );

    let too_long = ProfileUpdate {
        display_name: Some("x".repeat(65)),
        ..ProfileUpdate::default()
    };
    assert_eq!(
        accounts
            .update_profile(hana.id, too_long)
            .await
            .unwrap_err()
            .code(),
        "too_long"
    );
    let control = ProfileUpdate {
        display_name: Some("a\u{7}b".into()),
        ..ProfileUpdate::default()
    };
    assert_eq!(
        accounts
            .update_profile(hana.id, control)
            .await
            .unwrap_err()
            .code(),
        "invalid_characters"
    );
    let missing_avatar = ProfileUpdate {
        avatar: Some(Some(jeco_core::ids::AttachmentId(424242))),
        ..ProfileUpdate::default()
    };
    assert_eq!(
        accounts
            .update_profile(hana.id, missing_avatar)
            .await
            .unwrap_err()
            .code(),
        "invalid_avatar"
    );
    // Refused updates changed nothing.
    assert_eq!(accounts.me(hana.id).await.unwrap(), updated);
}

pub async fn change_password_signs_out_other_logins(h: Harness) {
    let jon = h.user("jon").await;
    let accounts = h.engine.accounts();
    assert_eq!(
        accounts
            .change_password(jon.id, "wrong", "a brand new secret")
            .await
            .unwrap_err()
            .code(),
        "invalid_credentials"
    );
    assert_eq!(
        accounts
            .change_password(jon.id, PASSWORD, "short")
            .await
            .unwrap_err()
            .code(),
        "weak_password"
    );
    let tokens = accounts
        .change_password(jon.id, PASSWORD, "a brand new secret")
        .await
        .unwrap();
    accounts.refresh(&tokens.refresh_token).await.unwrap();
    assert_eq!(
        accounts
            .refresh(&jon.session.tokens.refresh_token)
            .await
            .unwrap_err()
            .code(),
        "invalid_token"
    );
    assert!(accounts.login("jon", PASSWORD).await.is_err());
    accounts.login("jon", "a brand new secret").await.unwrap();
}

pub async fn password_reset_flow(h: Harness) {
    let kim = h.user("kim").await;
    let accounts = h.engine.accounts();

    // Unknown address: same answer, no mail.
    accounts
        .request_password_reset("nobody@example.com")
        .await
        .unwrap();
    assert!(h.mailer.take().is_empty());
    assert_eq!(
        accounts
            .request_password_reset("not an email")
            .await
            .unwrap_err()
            .code(),
        "invalid_email"
    );

    accounts
        .request_password_reset("KIM@example.com")
        .await
        .unwrap();
    let token = token_from_mail(&h);
    assert_eq!(
        accounts
            .confirm_password_reset(&token, "short")
            .await
            .unwrap_err()
            .code(),
        "weak_password"
    );
    accounts
        .confirm_password_reset(&token, "kim's new passphrase")
        .await
        .unwrap();
    accounts.login("kim", "kim's new passphrase").await.unwrap();
    assert!(accounts.login("kim", PASSWORD).await.is_err());
    // Single use, and the old logins are signed out.
    assert_eq!(
        accounts
            .confirm_password_reset(&token, "yet another passphrase")
            .await
            .unwrap_err()
            .code(),
        "invalid_token"
    );
    assert_eq!(
        accounts
            .refresh(&kim.session.tokens.refresh_token)
            .await
            .unwrap_err()
            .code(),
        "invalid_token"
    );
    assert_eq!(
        accounts
            .confirm_password_reset("made-up", "yet another passphrase")
            .await
            .unwrap_err()
            .code(),
        "invalid_token"
    );
}

pub async fn expired_reset_token_is_refused(h: Harness) {
    h.user("lena").await;
    let mut limits = Limits::default();
    limits.reset_token_ttl = std::time::Duration::ZERO;
    let short = h.reopen_with(limits).await;
    short
        .engine
        .accounts()
        .request_password_reset("lena@example.com")
        .await
        .unwrap();
    let token = token_from_mail(&short);
    assert_eq!(
        short
            .engine
            .accounts()
            .confirm_password_reset(&token, "lena's new passphrase")
            .await
            .unwrap_err()
            .code(),
        "invalid_token"
    );
    short
        .engine
        .accounts()
        .login("lena", PASSWORD)
        .await
        .unwrap();
}

pub async fn general_room_is_created_once(h: Harness) {
    let again = h.reopen().await;
    assert_eq!(again.engine.general_room(), h.engine.general_room());
    // Tokens signed by one engine are accepted by another with the same secret.
    let mia = h.user("mia").await;
    assert_eq!(
        again
            .engine
            .accounts()
            .authenticate(&mia.session.tokens.access_token)
            .unwrap(),
        mia.id
    );
}
