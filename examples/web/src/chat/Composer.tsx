import { useEffect, useId, useMemo, useRef, useState, type ChangeEvent, type KeyboardEvent } from "react";
import Button from "react-bootstrap/Button";
import CloseButton from "react-bootstrap/CloseButton";
import { errorText, type S } from "../api/client";
import { chat, useTimeline } from "../realtime";
import { mentionQuery, userName } from "./format";
import { PaperclipIcon } from "./Icons";
import { MentionList } from "./MentionList";
import { UploadList } from "./UploadList";
import type { Upload } from "./useUploads";

/** The composer's mode: a plain message, a reply to one, or editing one of mine. */
export type ComposerMode = { kind: "reply" | "edit"; message: S["Message"] } | null;

const MAX_CHARS = 4000;

interface Props {
  roomId: number;
  me: S["Account"];
  members: S["Member"][];
  mode: ComposerMode;
  onCancelMode: () => void;
  uploads: Upload[];
  onAddFiles: (files: File[]) => void;
  onRemoveUpload: (key: string) => void;
  onClearUploads: () => void;
  /** Arrow up in an empty box: edit my latest message. */
  onEditLast: (message: S["Message"]) => void;
}

/** Writes a message: Enter sends, Shift+Enter starts a new line; replies, edits, files, @mentions. */
export function Composer(props: Props) {
  const { roomId, me, members, mode, onCancelMode, uploads, onAddFiles, onRemoveUpload, onClearUploads, onEditLast } = props;
  const [text, setText] = useState("");
  const [caret, setCaret] = useState(0);
  const [active, setActive] = useState(0);
  const [dismissed, setDismissed] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const area = useRef<HTMLTextAreaElement>(null);
  const fileInput = useRef<HTMLInputElement>(null);
  const listId = useId();
  const { items } = useTimeline(roomId);

  // The box grows with its text, up to the height the stylesheet allows.
  useEffect(() => {
    const el = area.current;
    if (!el) return;
    el.style.height = "auto";
    el.style.height = `${el.scrollHeight + 2}px`;
  }, [text]);

  // Entering edit mode puts the message's text in the box; any mode focuses it.
  const [modeSeen, setModeSeen] = useState<ComposerMode>(null);
  if (mode !== modeSeen) {
    setModeSeen(mode);
    if (mode?.kind === "edit") setText(mode.message.body);
  }
  useEffect(() => {
    if (mode) area.current?.focus();
  }, [mode]);

  // Stop the typing indication when leaving the room.
  useEffect(() => () => chat.typing(roomId, false), [roomId]);

  const mention = dismissed ? null : mentionQuery(text, caret);
  const candidates = useMemo(() => {
    if (!mention) return [];
    return members
      .map((m) => m.user)
      .filter((u) => u.id !== me.id && u.username.startsWith(mention.query))
      .slice(0, 8);
  }, [mention, members, me.id]);
  const open = candidates.length > 0;
  const activeIndex = Math.min(active, Math.max(candidates.length - 1, 0));

  const chars = [...text.trim()].length;
  const tooLong = chars > MAX_CHARS;
  const uploading = uploads.some((u) => u.status === "uploading");
  const ready = uploads.flatMap((u) => (u.status === "done" && u.meta ? [u.meta.id] : []));
  const canSend = !tooLong && !uploading && (chars > 0 || (mode?.kind !== "edit" && ready.length > 0));

  function change(e: ChangeEvent<HTMLTextAreaElement>) {
    const value = e.target.value;
    setText(value);
    setCaret(e.target.selectionStart);
    setDismissed(false);
    setActive(0);
    setError(null);
    if (mode?.kind !== "edit") chat.typing(roomId, value.trim() !== "");
  }

  function pick(user: S["UserRef"]) {
    if (!mention) return;
    const before = text.slice(0, mention.start);
    const after = text.slice(caret);
    const inserted = `@${user.username} `;
    setText(before + inserted + after);
    const position = before.length + inserted.length;
    setCaret(position);
    requestAnimationFrame(() => area.current?.setSelectionRange(position, position));
  }

  async function submit() {
    if (!canSend) return;
    const body = text.trim();
    setError(null);
    if (mode?.kind === "edit") {
      try {
        await chat.edit(mode.message.id, body);
        setText("");
        onCancelMode();
      } catch (e) {
        setError(errorText(e));
      }
      return;
    }
    chat.send(roomId, { body, replyTo: mode?.kind === "reply" ? mode.message.id : null, attachments: ready });
    chat.typing(roomId, false);
    setText("");
    onClearUploads();
    if (mode) onCancelMode();
  }

  function keyDown(e: KeyboardEvent<HTMLTextAreaElement>) {
    if (open) {
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        const step = e.key === "ArrowDown" ? 1 : -1;
        setActive((activeIndex + step + candidates.length) % candidates.length);
        return;
      }
      if (e.key === "Enter" || e.key === "Tab") {
        e.preventDefault();
        const user = candidates[activeIndex];
        if (user) pick(user);
        return;
      }
      if (e.key === "Escape") {
        e.preventDefault();
        setDismissed(true);
        return;
      }
    }
    if (e.key === "Escape" && mode) {
      e.preventDefault();
      if (mode.kind === "edit") setText("");
      onCancelMode();
      return;
    }
    if (e.key === "ArrowUp" && text === "" && !mode) {
      const last = items.findLast((i) => i.status === "sent" && i.message.sender.id === me.id && !i.message.deleted);
      if (last) {
        e.preventDefault();
        onEditLast(last.message);
      }
      return;
    }
    if (e.key === "Enter" && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      void submit();
    }
  }

  return (
    <div className="chat-composer">
      {open && (
        <MentionList id={listId} candidates={candidates} active={activeIndex} onPick={pick} />
      )}
      {mode && (
        <div className="d-flex align-items-center gap-2 small mb-1 border-start border-3 border-primary ps-2">
          <span className="text-truncate flex-grow-1">
            {mode.kind === "reply" ? (
              <>Replying to <strong>{userName(mode.message.sender)}</strong>: {mode.message.body}</>
            ) : (
              <>Editing your message</>
            )}
          </span>
          <CloseButton aria-label={mode.kind === "reply" ? "Cancel reply" : "Cancel editing"} onClick={() => {
            if (mode.kind === "edit") setText("");
            onCancelMode();
          }} />
        </div>
      )}
      <UploadList uploads={uploads} onRemove={onRemoveUpload} />
      {error && <div className="text-danger small mb-1" role="alert">{error}</div>}
      {tooLong && (
        <div className="text-danger small mb-1" role="alert">
          The message is {chars} characters long; at most {MAX_CHARS} fit.
        </div>
      )}
      <span id={`${listId}-hint`} className="visually-hidden">
        Enter sends, Shift+Enter starts a new line, arrow up edits your last message, @ mentions a member.
      </span>
      <div className="d-flex align-items-end gap-2">
        {mode?.kind !== "edit" && (
          <>
            <Button variant="" className="chat-btn-quiet" onClick={() => fileInput.current?.click()} aria-label="Attach files" title="Attach files">
              <PaperclipIcon />
            </Button>
            <input
              ref={fileInput}
              type="file"
              multiple
              hidden
              aria-label="Files to attach"
              onChange={(e) => {
                onAddFiles([...(e.target.files ?? [])]);
                e.target.value = "";
              }}
            />
          </>
        )}
        <textarea
          ref={area}
          className="form-control"
          rows={1}
          aria-label="Message"
          placeholder="Write a message…"
          aria-describedby={`${listId}-hint`}
          value={text}
          onChange={change}
          onKeyDown={keyDown}
          onSelect={(e) => setCaret(e.currentTarget.selectionStart)}
          onPaste={(e) => {
            const files = [...e.clipboardData.files];
            if (files.length > 0 && mode?.kind !== "edit") {
              e.preventDefault();
              onAddFiles(files);
            }
          }}
          aria-autocomplete="list"
          aria-controls={open ? listId : undefined}
          aria-activedescendant={open && candidates[activeIndex] ? `${listId}-${candidates[activeIndex].id}` : undefined}
        />
        <Button onClick={() => void submit()} disabled={!canSend} aria-label={mode?.kind === "edit" ? "Save" : "Send"}>
          {mode?.kind === "edit" ? "Save" : "Send"}
        </Button>
      </div>
    </div>
  );
}
