//! Event serialization: what every sent message costs once, and what serializing it per
//! recipient would cost instead.
//!
//! `published_new` is [`Published::new`] on a realistic `message.created` event (100-character
//! body with a mention, one reaction): the engine runs it once per change. The `fanout_100`
//! group hands the event to the 100 members of a room two ways: serialized once and shared
//! (what the engine does: each subscriber gets a clone of the same `Bytes`), and serialized
//! again for each recipient (what that design avoids).
//!
//! Run: `cargo bench -p jeco-core --bench serialization`.

// Setup that cannot fail in practice; a bench that panics on it is as good as a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use jeco_core::event::Topic;
use jeco_core::event::{Event, Published};
use jeco_core::ids::{MessageId, RoomId, Seq, Timestamp, UserId};
use jeco_core::model::{Message, Reaction, UserRef};

/// Members of the room in the fan-out comparison.
const RECIPIENTS: usize = 100;

/// A `message.created` event as a busy room sees it.
fn message_created() -> Event {
    // 100 characters, one of them part of an `@mention`.
    let body = "@bob the deploy finished at 14:05; dashboards look green, \
                please double-check the EU queue lag, Bob.";
    assert_eq!(
        body.chars().count(),
        100,
        "the bench promises a 100-character body"
    );
    let room = RoomId(42);
    let seq = Seq(18_734);
    Event::MessageCreated {
        room_id: room,
        seq,
        message: Message {
            id: MessageId(1_203_887),
            room_id: room,
            seq,
            sender: UserRef {
                id: UserId(1_001),
                username: "alice".to_owned(),
                display_name: "Alice Martin".to_owned(),
            },
            client_id: "c-7f3a9e21-0b4d-4c1e-9a57-3d2f8e6b1c90".to_owned(),
            body: body.to_owned(),
            reply_to: Some(MessageId(1_203_880)),
            forwarded_from: None,
            attachments: Vec::new(),
            mentions: vec![UserId(1_002)],
            reactions: vec![Reaction {
                emoji: "👍".to_owned(),
                users: vec![UserId(1_002)],
            }],
            created_at: Timestamp(1_767_225_600_000),
            edited_at: None,
            deleted: false,
        },
    }
}

fn serialization(c: &mut Criterion) {
    let event = message_created();
    let topic = Topic::Room(RoomId(42));
    let size = Published::new(topic, event.clone())
        .expect("serializes")
        .payload
        .len();
    eprintln!("message.created payload: {size} bytes of JSON");

    let mut group = c.benchmark_group("serialization");
    group.throughput(Throughput::Elements(1));
    group.bench_function("published_new", |b| {
        // The event is built per publish in the engine and moved in: cloning it is setup.
        b.iter_batched(
            || event.clone(),
            |event| Published::new(black_box(topic), black_box(event)),
            BatchSize::SmallInput,
        )
    });
    group.finish();

    let mut group = c.benchmark_group("fanout_100");
    // Throughput in recipients served per second.
    group.throughput(Throughput::Elements(RECIPIENTS as u64));
    group.bench_function("shared", |b| {
        b.iter_batched(
            || event.clone(),
            |event| {
                let published =
                    Published::new(black_box(topic), black_box(event)).expect("serializes");
                let mut deliveries = Vec::with_capacity(RECIPIENTS);
                for _ in 0..RECIPIENTS {
                    deliveries.push(published.clone());
                }
                deliveries
            },
            BatchSize::SmallInput,
        )
    });
    group.bench_function("per_recipient", |b| {
        b.iter_batched(
            || vec![event.clone(); RECIPIENTS],
            |events| {
                let mut deliveries = Vec::with_capacity(RECIPIENTS);
                for event in events {
                    deliveries.push(Published::new(black_box(topic), black_box(event)));
                }
                deliveries
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = serialization
}
criterion_main!(benches);
