import { useTyping } from "../realtime";
import { nameList, userName } from "./format";

/** "alice is typing…" under the timeline; a polite live region. */
export function TypingIndicator({ roomId }: { roomId: number }) {
  const typing = useTyping(roomId);
  const names = typing.map(userName);
  let text = "";
  if (names.length > 3) text = "Several people are typing…";
  else if (names.length > 0) text = `${nameList(names)} ${names.length === 1 ? "is" : "are"} typing…`;
  return (
    <div className="chat-typing" aria-live="polite">
      {text}
    </div>
  );
}
