//! Retries and races: a retried send always gets its original, concurrent reactions keep the
//! rules, and a store that fails is reported as a failure, not as bad input.

use std::sync::Arc;

use jeco_core::Limits;
use jeco_core::error::ErrorCode;
use jeco_core::event::Event;
use jeco_core::service::SendMessage;
use tokio::sync::Barrier;

use super::harness::{Harness, png, public_room, send_png, text};

/// A retry with the client id of a message already stored answers with that message, even
/// when the same send would now be refused: the sender left the room, a block began, or the
/// original was deleted together with its file.
pub async fn a_retried_send_gets_its_original_whatever_changed_since(h: Harness) {
    let ann = h.user("ann").await;
    let bob = h.user("bob").await;
    let messages = h.engine.messages();

    // Left the room.
    let room = public_room(&h, bob.id, "lounge", &[ann.id]).await;
    let sent = messages
        .send(ann.id, room, text("left-1", "bye"))
        .await
        .unwrap();
    h.engine.rooms().leave(ann.id, room).await.unwrap();
    let retried = messages.send(ann.id, room, text("left-1", "bye")).await;
    assert_eq!(retried.unwrap().id, sent.id);
    // A new client id is refused as before.
    let fresh = messages.send(ann.id, room, text("left-2", "hi")).await;
    assert_eq!(fresh.unwrap_err().code(), ErrorCode::NotAMember);

    // Blocked.
    let direct = h.engine.rooms().open_direct(ann.id, bob.id).await.unwrap();
    let sent = messages
        .send(ann.id, direct.id, text("dm-1", "hello"))
        .await
        .unwrap();
    h.engine.contacts().block(bob.id, ann.id).await.unwrap();
    let retried = messages
        .send(ann.id, direct.id, text("dm-1", "hello"))
        .await;
    assert_eq!(retried.unwrap().id, sent.id);
    let fresh = messages.send(ann.id, direct.id, text("dm-2", "hi")).await;
    assert_eq!(fresh.unwrap_err().code(), ErrorCode::Blocked);

    // Deleted, and its file with it.
    let general = h.engine.general_room();
    let (file, sent) = send_png(&h, ann.id, general, "file-1", "a picture").await;
    messages.delete(ann.id, sent.id).await.unwrap();
    let retry = SendMessage {
        attachments: vec![file.id],
        ..text("file-1", "a picture")
    };
    let retried = messages.send(ann.id, general, retry).await.unwrap();
    assert_eq!(retried.id, sent.id);
    assert!(
        retried.deleted,
        "the answer is the message as it is now: a tombstone"
    );

    // A forward retried after leaving the room it went to.
    let target = public_room(&h, bob.id, "target", &[ann.id]).await;
    let forwarded = messages
        .forward(ann.id, retried.id, target, "fwd-1".into())
        .await
        .unwrap_err();
    assert_eq!(forwarded.code(), ErrorCode::MessageNotFound);
    let original = messages
        .send(ann.id, general, text("to-forward", "worth sharing"))
        .await
        .unwrap();
    let forwarded = messages
        .forward(ann.id, original.id, target, "fwd-2".into())
        .await
        .unwrap();
    h.engine.rooms().leave(ann.id, target).await.unwrap();
    let again = messages
        .forward(ann.id, original.id, target, "fwd-2".into())
        .await
        .unwrap();
    assert_eq!(again.id, forwarded.id);
}

/// The store decides reactions under the room's write lock: the same reaction asked for at
/// once by several requests is added once, the per-user limit holds however many arrive
/// together, and nothing lands on a message deleted at the same moment.
pub async fn concurrent_reactions_keep_the_rules(h: Harness) {
    let mut limits = Limits::default();
    limits.reactions_per_user = 3;
    let h = h.reopen_with(limits).await;
    let ann = h.user("ann").await;
    let bob = h.user("bob").await;
    let room = public_room(&h, ann.id, "reacts", &[bob.id]).await;
    let m = h
        .engine
        .messages()
        .send(ann.id, room, text("m", "react to me"))
        .await
        .unwrap();

    // The same reaction, twelve times at once: present once, one change.
    let before = super::harness::last_seq(&h, ann.id, room).await;
    let results = together(12, |_| {
        let engine = h.engine.clone();
        async move {
            engine
                .messages()
                .set_reaction(bob.id, m.id, "👍", true)
                .await
        }
    })
    .await;
    assert!(results.iter().all(|r| matches!(r, Ok(true))), "{results:?}");
    let now = super::harness::last_seq(&h, ann.id, room).await;
    assert_eq!(now.get(), before.get() + 1, "one change for one reaction");

    // Eight different ones at once with a limit of three: two more fit.
    let results = together(8, |i| {
        let engine = h.engine.clone();
        let emoji = ["😀", "🎉", "🚀", "👀", "🔥", "💯", "✅", "🙏"][i];
        async move {
            engine
                .messages()
                .set_reaction(bob.id, m.id, emoji, true)
                .await
        }
    })
    .await;
    let added = results.iter().filter(|r| matches!(r, Ok(true))).count();
    let refused = results
        .iter()
        .filter(|r| matches!(r, Err(e) if e.code() == ErrorCode::TooManyReactions))
        .count();
    assert_eq!((added, refused), (2, 6), "{results:?}");
    let mine: usize = h
        .engine
        .messages()
        .get(ann.id, m.id)
        .await
        .unwrap()
        .reactions
        .iter()
        .filter(|r| r.users.contains(&bob.id))
        .count();
    assert_eq!(mine, 3);

    // Reactions racing a delete: none survives it, and none is logged after it.
    let doomed = h
        .engine
        .messages()
        .send(ann.id, room, text("doomed", "going away"))
        .await
        .unwrap();
    let results = together(10, |i| {
        let engine = h.engine.clone();
        async move {
            if i == 5 {
                engine
                    .messages()
                    .delete(ann.id, doomed.id)
                    .await
                    .map(|()| true)
            } else {
                let emoji = ["😀", "🎉", "🚀"][i % 3];
                engine
                    .messages()
                    .set_reaction(bob.id, doomed.id, emoji, true)
                    .await
            }
        }
    })
    .await;
    for r in &results {
        if let Err(e) = r {
            assert_eq!(e.code(), ErrorCode::MessageDeleted, "{results:?}");
        }
    }
    let tombstone = h.engine.messages().get(ann.id, doomed.id).await.unwrap();
    assert!(tombstone.deleted && tombstone.reactions.is_empty());
    let log = h
        .engine
        .messages()
        .changes_after(ann.id, room, doomed.seq, None)
        .await
        .unwrap()
        .events;
    let deleted_at = log
        .iter()
        .position(|e| matches!(e, Event::MessageDeleted { .. }))
        .expect("the delete is logged");
    assert!(
        log[deleted_at..].iter().all(
            |e| !matches!(e, Event::ReactionAdded { message_id, .. } if *message_id == doomed.id)
        ),
        "a reaction was logged after the delete: {log:?}"
    );
}

/// Runs `n` calls of `call` at the same moment and collects their results in order.
async fn together<F, Fut, T>(n: usize, call: F) -> Vec<T>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let start = Arc::new(Barrier::new(n));
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let start = Arc::clone(&start);
            let fut = call(i);
            tokio::spawn(async move {
                start.wait().await;
                fut.await
            })
        })
        .collect();
    let mut out = Vec::with_capacity(n);
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

/// When the store fails while a send is checked, the caller hears `internal` (a failure to
/// retry), not `invalid_attachment` or `invalid_reply_to` (a mistake of theirs), and nothing
/// is posted.
pub async fn a_store_failure_during_a_send_is_internal(h: Harness) {
    let ann = h.user("ann").await;
    let room = public_room(&h, ann.id, "fragile", &[]).await;
    let file = h
        .engine
        .attachments()
        .upload(ann.id, Some(room), "a.png", png())
        .await
        .unwrap();
    let earlier = h
        .engine
        .messages()
        .send(ann.id, room, text("first", "hello"))
        .await
        .unwrap();
    let before = super::harness::last_seq(&h, ann.id, room).await;

    h.execute_raw(&["DROP TABLE attachments"]).await;
    let with_file = SendMessage {
        attachments: vec![file.id],
        ..text("with-file", "see attached")
    };
    let e = h.engine.messages().send(ann.id, room, with_file).await;
    assert_eq!(e.unwrap_err().code(), ErrorCode::Internal);

    h.execute_raw(&["DROP TABLE reactions"]).await;
    let reply = SendMessage {
        reply_to: Some(earlier.id),
        ..text("a-reply", "indeed")
    };
    let e = h.engine.messages().send(ann.id, room, reply).await;
    assert_eq!(e.unwrap_err().code(), ErrorCode::Internal);
    assert_eq!(super::harness::last_seq(&h, ann.id, room).await, before);
}
