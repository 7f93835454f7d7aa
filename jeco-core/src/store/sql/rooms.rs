//! Rooms and memberships: [`RoomStore`](crate::store::RoomStore) for the SQL stores.

/// Expanded by `impl_sql_store!` inside its module, where `$store` is the store type and
/// `$db` its sqlx database.
macro_rules! rooms {
    ($store:ty, $db:ty) => {
        async fn add_member_tx(
            tx: &mut Tx,
            room: RoomId,
            user: UserId,
            role: Role,
            by: Option<UserId>,
            now: Timestamp,
        ) -> StoreResult<Option<MembershipSeqs>> {
            let inserted = sqlx::query(
                "INSERT INTO room_members (room_id, user_id, role, joined_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            )
            .bind(room.get())
            .bind(user.get())
            .bind(role.as_str())
            .bind(now.0)
            .execute(&mut **tx)
            .await
            .map_err(map_err("member"))?
            .rows_affected();
            if inserted == 0 {
                return Ok(None);
            }
            let room_seq = next_room_seq(tx, room, 1).await?;
            log_room_event(
                tx,
                room,
                room_seq,
                kind::MEMBER_JOINED,
                None,
                Some(user),
                by,
                Some(role.as_str()),
                now,
            )
            .await?;
            let (_, feed_seq) =
                append_feed(tx, user, kind::FEED_JOINED, false, room, Some(room_seq), None, by, None, now)
                    .await?;
            Ok(Some(MembershipSeqs { room_seq, feed_seq }))
        }

        /// The room matching `filter` (on `rooms r`, one text parameter), if any.
        async fn room_where(pool: &Pool<$db>, filter: &str, value: &str) -> StoreResult<Option<Room>> {
            let sql = format!("SELECT {ROOM_COLUMNS} FROM rooms r WHERE {filter}");
            sqlx::query_as::<_, RoomRow>(&sql)
                .bind(value)
                .fetch_optional(pool)
                .await
                .map_err(backend)?
                .map(RoomRow::into_room)
                .transpose()
        }

        #[async_trait]
        impl RoomStore for $store {
            async fn create_room(
                &self,
                room: NewRoom,
                members: &[(UserId, Role)],
            ) -> StoreResult<(Room, Vec<MembershipSeqs>)> {
                let mut tx = self.writer().begin().await.map_err(backend)?;
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO rooms (kind, name, dm_key, topic, created_by, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                )
                .bind(room.kind.as_str())
                .bind(&room.name)
                .bind(&room.dm_key)
                .bind(&room.topic)
                .bind(room.created_by.map(UserId::get))
                .bind(room.now.0)
                .fetch_one(&mut *tx)
                .await
                .map_err(map_err("room"))?;
                let mut sorted = members.to_vec();
                sorted.sort_by_key(|(u, _)| *u);
                let mut seqs = Vec::with_capacity(sorted.len());
                for (user, role) in sorted {
                    let by = room.created_by.filter(|c| *c != user);
                    if let Some(s) = add_member_tx(&mut tx, RoomId(id), user, role, by, room.now).await? {
                        seqs.push(s);
                    }
                }
                let sql = format!("SELECT {ROOM_COLUMNS} FROM rooms r WHERE r.id = $1");
                let created = sqlx::query_as::<_, RoomRow>(&sql)
                    .bind(id)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(backend)?
                    .into_room()?;
                tx.commit().await.map_err(backend)?;
                Ok((created, seqs))
            }

            async fn room(&self, id: RoomId) -> StoreResult<Room> {
                let sql = format!("SELECT {ROOM_COLUMNS} FROM rooms r WHERE r.id = $1");
                sqlx::query_as::<_, RoomRow>(&sql)
                    .bind(id.get())
                    .fetch_one(self.reader())
                    .await
                    .map_err(map_err("room"))?
                    .into_room()
            }

            async fn room_by_name(&self, name: &str) -> StoreResult<Option<Room>> {
                room_where(self.reader(), "r.name = $1", name).await
            }

            async fn direct_room(&self, dm_key: &str) -> StoreResult<Option<Room>> {
                room_where(self.reader(), "r.dm_key = $1", dm_key).await
            }

            async fn membership(&self, room: RoomId, user: UserId) -> StoreResult<Option<Membership>> {
                let row: Option<(String, i64)> = sqlx::query_as(
                    "SELECT role, last_read_seq FROM room_members WHERE room_id = $1 AND user_id = $2",
                )
                .bind(room.get())
                .bind(user.get())
                .fetch_optional(self.reader())
                .await
                .map_err(backend)?;
                row.map(|(role, seq)| {
                    Ok(Membership {
                        role: parse_role(&role)?,
                        last_read_seq: Seq(seq),
                    })
                })
                .transpose()
            }

            async fn room_for(&self, room: RoomId, user: UserId) -> StoreResult<(Room, Option<Membership>)> {
                let sql = format!(
                    "SELECT {ROOM_COLUMNS}, m.role AS member_role, m.last_read_seq AS member_last_read \
                     FROM rooms r LEFT JOIN room_members m ON m.room_id = r.id AND m.user_id = $2 \
                     WHERE r.id = $1"
                );
                let row = sqlx::query_as::<_, RoomForRow>(&sql)
                    .bind(room.get())
                    .bind(user.get())
                    .fetch_one(self.reader())
                    .await
                    .map_err(map_err("room"))?;
                let membership = match (row.member_role, row.member_last_read) {
                    (Some(role), Some(seq)) => Some(Membership {
                        role: parse_role(&role)?,
                        last_read_seq: Seq(seq),
                    }),
                    _ => None,
                };
                Ok((row.room.into_room()?, membership))
            }

            async fn members(&self, room: RoomId) -> StoreResult<Vec<Member>> {
                let rows = sqlx::query_as::<_, MemberRow>(
                    "SELECT u.id, u.username, u.display_name, rm.role, rm.joined_at, rm.last_read_seq \
                     FROM room_members rm JOIN users u ON u.id = rm.user_id \
                     WHERE rm.room_id = $1 ORDER BY rm.joined_at, u.id",
                )
                .bind(room.get())
                .fetch_all(self.reader())
                .await
                .map_err(backend)?;
                let mut members = rows
                    .into_iter()
                    .map(|r| {
                        Ok(Member {
                            role: parse_role(&r.role)?,
                            user: UserRef {
                                id: UserId(r.id),
                                username: r.username,
                                display_name: r.display_name,
                            },
                            joined_at: Timestamp(r.joined_at),
                            last_read_seq: Seq(r.last_read_seq),
                        })
                    })
                    .collect::<StoreResult<Vec<_>>>()?;
                // Stable: within a role, join order is kept.
                members.sort_by(|a, b| b.role.cmp(&a.role));
                Ok(members)
            }

            async fn add_member(
                &self,
                room: RoomId,
                user: UserId,
                role: Role,
                by: Option<UserId>,
                now: Timestamp,
            ) -> StoreResult<Option<MembershipSeqs>> {
                let mut tx = self.writer().begin().await.map_err(backend)?;
                let seqs = add_member_tx(&mut tx, room, user, role, by, now).await?;
                tx.commit().await.map_err(backend)?;
                Ok(seqs)
            }

            async fn remove_member(
                &self,
                room: RoomId,
                user: UserId,
                reason: LeaveReason,
                by: Option<UserId>,
                now: Timestamp,
            ) -> StoreResult<Option<MembershipSeqs>> {
                let mut tx = self.writer().begin().await.map_err(backend)?;
                let removed = sqlx::query("DELETE FROM room_members WHERE room_id = $1 AND user_id = $2")
                    .bind(room.get())
                    .bind(user.get())
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?
                    .rows_affected();
                if removed == 0 {
                    return Ok(None);
                }
                let room_seq = next_room_seq(&mut tx, room, -1).await?;
                let detail = match reason {
                    LeaveReason::Left => "left",
                    LeaveReason::Kicked => "kicked",
                };
                log_room_event(
                    &mut tx,
                    room,
                    room_seq,
                    kind::MEMBER_LEFT,
                    None,
                    Some(user),
                    by,
                    Some(detail),
                    now,
                )
                .await?;
                let (_, feed_seq) =
                    append_feed(&mut tx, user, kind::FEED_LEFT, false, room, Some(room_seq), None, by, None, now)
                        .await?;
                tx.commit().await.map_err(backend)?;
                Ok(Some(MembershipSeqs { room_seq, feed_seq }))
            }

            async fn set_role(
                &self,
                room: RoomId,
                user: UserId,
                role: Role,
                now: Timestamp,
            ) -> StoreResult<Seq> {
                let mut tx = self.writer().begin().await.map_err(backend)?;
                let n = sqlx::query(
                    "UPDATE room_members SET role = $3 WHERE room_id = $1 AND user_id = $2",
                )
                .bind(room.get())
                .bind(user.get())
                .bind(role.as_str())
                .execute(&mut *tx)
                .await
                .map_err(backend)?
                .rows_affected();
                if n == 0 {
                    return Err(StoreError::NotFound("member"));
                }
                let seq = next_room_seq(&mut tx, room, 0).await?;
                log_room_event(
                    &mut tx,
                    room,
                    seq,
                    kind::MEMBER_ROLE,
                    None,
                    Some(user),
                    None,
                    Some(role.as_str()),
                    now,
                )
                .await?;
                tx.commit().await.map_err(backend)?;
                Ok(seq)
            }

            async fn rooms_for(&self, user: UserId) -> StoreResult<Vec<RoomSummary>> {
                let sql = format!(
                    "SELECT {ROOM_COLUMNS}, rm.role, \
                     COALESCE(rm.last_read_seq, rv.seen_seq, 0) AS last_read_seq, \
                     (SELECT COUNT(*) FROM messages m WHERE m.room_id = r.id \
                        AND m.seq > rm.last_read_seq AND m.sender_id <> $1 \
                        AND m.deleted_at IS NULL) AS unread \
                     FROM rooms r LEFT JOIN room_members rm ON rm.room_id = r.id AND rm.user_id = $1 \
                     LEFT JOIN room_views rv ON rv.room_id = r.id AND rv.user_id = $1 \
                        AND rm.user_id IS NULL \
                     WHERE r.kind = 'public' OR rm.user_id IS NOT NULL \
                     ORDER BY r.kind = 'direct', r.name, r.id LIMIT 1000"
                );
                let rows = sqlx::query_as::<_, RoomSummaryRow>(&sql)
                    .bind(user.get())
                    .fetch_all(self.reader())
                    .await
                    .map_err(backend)?;
                let peers: Vec<(i64, i64, String, String)> = sqlx::query_as(
                    "SELECT other.room_id, u.id, u.username, u.display_name \
                     FROM room_members me \
                     JOIN rooms r ON r.id = me.room_id AND r.kind = 'direct' \
                     JOIN room_members other ON other.room_id = me.room_id AND other.user_id <> me.user_id \
                     JOIN users u ON u.id = other.user_id \
                     WHERE me.user_id = $1",
                )
                .bind(user.get())
                .fetch_all(self.reader())
                .await
                .map_err(backend)?;
                rows.into_iter()
                    .map(|r| {
                        let room = r.room.into_room()?;
                        let peer = peers
                            .iter()
                            .find(|p| p.0 == room.id.get())
                            .map(|p| UserRef {
                                id: UserId(p.1),
                                username: p.2.clone(),
                                display_name: p.3.clone(),
                            });
                        Ok(RoomSummary {
                            role: r.role.as_deref().map(parse_role).transpose()?,
                            last_read_seq: Seq(r.last_read_seq),
                            unread: r.unread,
                            peer,
                            room,
                        })
                    })
                    .collect()
            }

            async fn advance_read_marker(
                &self,
                room: RoomId,
                user: UserId,
                seq: Seq,
            ) -> StoreResult<Option<Seq>> {
                let moved: Option<i64> = sqlx::query_scalar(
                    "UPDATE room_members SET last_read_seq = $3 \
                     WHERE room_id = $1 AND user_id = $2 AND last_read_seq < $3 \
                     RETURNING last_read_seq",
                )
                .bind(room.get())
                .bind(user.get())
                .bind(seq.get())
                .fetch_optional(self.writer())
                .await
                .map_err(backend)?;
                Ok(moved.map(Seq))
            }

            async fn small_rooms_of(&self, user: UserId, max_members: i64) -> StoreResult<Vec<RoomId>> {
                let ids: Vec<i64> = sqlx::query_scalar(
                    "SELECT r.id FROM room_members rm JOIN rooms r ON r.id = rm.room_id \
                     WHERE rm.user_id = $1 AND r.member_count <= $2 ORDER BY r.id",
                )
                .bind(user.get())
                .bind(max_members)
                .fetch_all(self.reader())
                .await
                .map_err(backend)?;
                Ok(ids.into_iter().map(RoomId).collect())
            }

            async fn mark_seen(&self, room: RoomId, user: UserId, seq: Seq) -> StoreResult<Seq> {
                sqlx::query_scalar(
                    "INSERT INTO room_views (user_id, room_id, seen_seq) VALUES ($1, $2, $3) \
                     ON CONFLICT (user_id, room_id) DO UPDATE SET seen_seq = CASE \
                        WHEN room_views.seen_seq < excluded.seen_seq THEN excluded.seen_seq \
                        ELSE room_views.seen_seq END \
                     RETURNING seen_seq",
                )
                .bind(user.get())
                .bind(room.get())
                .bind(seq.get())
                .fetch_one(self.writer())
                .await
                .map(Seq)
                .map_err(map_err("room"))
            }

            async fn room_ids_of(&self, user: UserId) -> StoreResult<Vec<RoomId>> {
                let ids: Vec<i64> = sqlx::query_scalar(
                    "SELECT room_id FROM room_members WHERE user_id = $1 ORDER BY room_id",
                )
                .bind(user.get())
                .fetch_all(self.reader())
                .await
                .map_err(backend)?;
                Ok(ids.into_iter().map(RoomId).collect())
            }

            async fn last_seqs_of(&self, user: UserId) -> StoreResult<Vec<(RoomId, Seq)>> {
                let rows: Vec<(i64, i64)> = sqlx::query_as(
                    "SELECT r.id, r.last_seq FROM room_members rm JOIN rooms r ON r.id = rm.room_id \
                     WHERE rm.user_id = $1 ORDER BY r.id",
                )
                .bind(user.get())
                .fetch_all(self.reader())
                .await
                .map_err(backend)?;
                Ok(rows.into_iter().map(|(r, s)| (RoomId(r), Seq(s))).collect())
            }

            async fn opening_of(&self, user: UserId) -> StoreResult<Option<crate::store::Opening>> {
                // The feed position rides along as a row with room id -1, each blocked user
                // as a row with room id -2 (no room has either).
                let rows: Vec<(i64, i64)> = sqlx::query_as(
                    "SELECT r.id, r.last_seq FROM room_members rm JOIN rooms r ON r.id = rm.room_id \
                     WHERE rm.user_id = $1 \
                     UNION ALL SELECT -1, feed_seq FROM users WHERE id = $1 \
                     UNION ALL SELECT -2, blocked_id FROM blocks WHERE blocker_id = $1",
                )
                .bind(user.get())
                .fetch_all(self.reader())
                .await
                .map_err(backend)?;
                let mut feed = None;
                let mut rooms = Vec::with_capacity(rows.len());
                let mut blocked = Vec::new();
                for (room, value) in rows {
                    match room {
                        -1 => feed = Some(Seq(value)),
                        -2 => blocked.push(UserId(value)),
                        _ => rooms.push((RoomId(room), Seq(value))),
                    }
                }
                let feed = feed.ok_or(StoreError::NotFound("user"))?;
                Ok(Some(crate::store::Opening { rooms, feed, blocked }))
            }

            async fn members_named(&self, room: RoomId, usernames: &[String]) -> StoreResult<Vec<UserId>> {
                if usernames.is_empty() {
                    return Ok(Vec::new());
                }
                let sql = format!(
                    "SELECT rm.user_id FROM room_members rm JOIN users u ON u.id = rm.user_id \
                     WHERE rm.room_id = $1 AND u.username IN ({}) ORDER BY rm.user_id",
                    placeholders(2, usernames.len())
                );
                let mut q = sqlx::query_scalar::<_, i64>(&sql).bind(room.get());
                for name in usernames {
                    q = q.bind(name);
                }
                let ids = q.fetch_all(self.reader()).await.map_err(backend)?;
                Ok(ids.into_iter().map(UserId).collect())
            }
        }
    };
}

pub(crate) use rooms;
