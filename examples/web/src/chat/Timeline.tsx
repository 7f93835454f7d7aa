import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import Button from "react-bootstrap/Button";
import Spinner from "react-bootstrap/Spinner";
import { useSearchParams } from "react-router-dom";
import { Virtuoso, type ListProps, type ListRange, type VirtuosoHandle } from "react-virtuoso";
import { chat, useTimeline, type Timeline as TimelineData } from "../realtime";
import { dayKey, userName } from "./format";
import { readersByMessage } from "./receipts";
import { MessageItem, type MessageContext } from "./MessageItem";

/** What the page provides; the timeline adds what needs the loaded messages. */
export type Context = Omit<MessageContext, "onJump" | "findLoaded">;

interface Props {
  roomId: number;
  label: string;
  ctx: Context;
  readMarkers: Map<number, number>;
  /** My read watermark when the room was opened. */
  readAtOpen: number;
}

/** The conversation: virtualised, loading history as one scrolls up, marking what is seen read. */
export function Timeline({ roomId, label, ctx, readMarkers, readAtOpen }: Props) {
  const timeline = useTimeline(roomId);
  if (!timeline.loaded) {
    return (
      <div className="chat-timeline d-flex align-items-center justify-content-center">
        <Spinner animation="border" role="status"><span className="visually-hidden">Loading messages…</span></Spinner>
      </div>
    );
  }
  // Mounted once the latest page is in: the unread separator and the first position are
  // decided from what was there when the room opened, not from what arrives later.
  return <TimelineList key={roomId} roomId={roomId} label={label} ctx={ctx} readMarkers={readMarkers} timeline={timeline} readAtOpen={readAtOpen} />;
}

function TimelineList({ roomId, label, ctx, readMarkers, readAtOpen, timeline }: Props & { timeline: TimelineData }) {
  const { items, firstItemIndex, hasOlder, loadingOlder, lastReadSeq } = timeline;
  const virtuoso = useRef<VirtuosoHandle>(null);
  const [atBottom, setAtBottom] = useState(true);
  const [range, setRange] = useState<ListRange | null>(null);
  const myId = ctx.me.id;
  // A link to a message (a notification's, `?message=<id>`) opens the room there, highlighted.
  const [params] = useSearchParams();
  const [linked] = useState(() => {
    const id = Number(params.get("message"));
    return id > 0 && items.some((i) => i.message.id === id) ? id : null;
  });
  const [flash, setFlash] = useState<number | null>(linked);

  // Fixed when the room opens: the first message from someone else past my read watermark
  // (the store keeps the one of this tab's first visit; a later visit knows better).
  const [unreadId] = useState(() => {
    const read = Math.max(lastReadSeq, readAtOpen);
    return items.find((i) => i.status === "sent" && i.message.seq > read && i.message.sender.id !== myId)?.message.id ?? null;
  });
  const [initialIndex] = useState(() => {
    const link = items.findIndex((i) => i.message.id === linked);
    if (link >= 0) return { index: link, align: "center" as const };
    const at = items.findIndex((i) => i.message.id === unreadId);
    return at >= 0 ? { index: at, align: "start" as const } : { index: Math.max(items.length - 1, 0), align: "end" as const };
  });

  const readers = useMemo(() => readersByMessage(items, myId, readMarkers, ctx.names), [items, myId, readMarkers, ctx.names]);

  const onJump = useCallback(
    (messageId: number) => {
      const index = items.findIndex((i) => i.message.id === messageId);
      if (index < 0) return;
      virtuoso.current?.scrollToIndex({ index, align: "center" });
      setFlash(messageId);
      // Once there, the original takes the focus, for keyboard and screen reader users.
      requestAnimationFrame(() => document.getElementById(`message-${messageId}`)?.focus({ preventScroll: true }));
    },
    [items],
  );
  useEffect(() => {
    if (flash === null) return;
    const timer = setTimeout(() => setFlash(null), 1500);
    return () => clearTimeout(timer);
  }, [flash]);

  const findLoaded = useCallback(
    (messageId: number) => items.find((i) => i.message.id === messageId)?.message,
    [items],
  );
  const fullCtx = useMemo<MessageContext>(() => ({ ...ctx, onJump, findLoaded }), [ctx, onJump, findLoaded]);

  // Mark read what is on screen while the tab is visible.
  useEffect(() => {
    function mark() {
      if (document.visibilityState !== "visible" || !range) return;
      let seq = 0;
      for (let i = range.startIndex; i <= range.endIndex; i++) {
        const item = items[i - firstItemIndex];
        if (item?.status === "sent") seq = Math.max(seq, item.message.seq);
      }
      if (seq > 0) chat.markRead(roomId, seq);
    }
    mark();
    document.addEventListener("visibilitychange", mark);
    return () => document.removeEventListener("visibilitychange", mark);
  }, [range, items, firstItemIndex, roomId]);

  const last = items[items.length - 1];
  const lastIsMinePending = last?.status === "pending" && last.message.sender.id === myId;

  // New messages from others are announced politely (not history loading above); the text
  // itself is one keystroke away in the list.
  const [lastKey, setLastKey] = useState(last?.key);
  const [announcement, setAnnouncement] = useState({ n: 0, text: "" });
  if (last && last.key !== lastKey) {
    setLastKey(last.key);
    if (last.status === "sent" && last.message.sender.id !== myId) {
      setAnnouncement({ n: announcement.n + 1, text: `New message from ${userName(last.message.sender)}` });
    }
  }

  return (
    <div className="chat-timeline">
      <Virtuoso
        ref={virtuoso}
        className="h-100"
        data={items}
        firstItemIndex={firstItemIndex}
        initialTopMostItemIndex={initialIndex}
        computeItemKey={(_, item) => item.key}
        startReached={() => {
          if (hasOlder && !loadingOlder) void timeline.loadOlder();
        }}
        followOutput={(bottom) => (bottom || lastIsMinePending ? "auto" : false)}
        atBottomStateChange={setAtBottom}
        atBottomThreshold={48}
        rangeChanged={setRange}
        components={components}
        context={{ label, hasOlder, loadingOlder }}
        itemContent={(index, item) => {
          const i = index - firstItemIndex;
          const prev = items[i - 1];
          const day = prev ? dayKey(prev.message.created_at) !== dayKey(item.message.created_at) : !hasOlder;
          return (
            <MessageItem
              item={item}
              ctx={fullCtx}
              day={day}
              unread={item.message.id === unreadId && unreadId !== null}
              readBy={readers.get(item.message.id) ?? noReaders}
              flash={flash === item.message.id}
            />
          );
        }}
      />
      <div className="visually-hidden" aria-live="polite">
        {/* A new node each time, so that a second message from the same person is announced too. */}
        <span key={announcement.n}>{announcement.text}</span>
      </div>
      {!atBottom && (
        <Button
          className="chat-jump shadow"
          size="sm"
          onClick={() => virtuoso.current?.scrollToIndex({ index: "LAST", align: "end" })}
        >
          Jump to latest <span aria-hidden="true">↓</span>
        </Button>
      )}
    </div>
  );
}

const noReaders: string[] = [];

interface ListContext {
  label: string;
  hasOlder: boolean;
  loadingOlder: boolean;
}

function EmptyPlaceholder() {
  return <p className="text-center text-body-secondary my-5">No messages yet. Say hello!</p>;
}

function List({ context, ...props }: ListProps & { context?: ListContext }) {
  return <div {...props} role="list" aria-label={context?.label} />;
}

function Header({ context }: { context?: ListContext }) {
  return (
    <div className="chat-history-edge small text-body-secondary">
      {context?.loadingOlder ? (
        <Spinner animation="border" size="sm" role="status"><span className="visually-hidden">Loading older messages…</span></Spinner>
      ) : context?.hasOlder ? (
        "\u00a0"
      ) : (
        "This is the beginning of the conversation."
      )}
    </div>
  );
}

const components = { List, Header, EmptyPlaceholder };
