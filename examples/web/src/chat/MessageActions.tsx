import Dropdown from "react-bootstrap/Dropdown";
import { EmojiPicker } from "./Reactions";

interface Props {
  canEdit: boolean;
  canDelete: boolean;
  hasText: boolean;
  onReply: () => void;
  onEdit: () => void;
  onDelete: () => void;
  onForward: () => void;
  onCopy: () => void;
  onReact: (emoji: string) => void;
}

/** The menu of what one can do with a message; a Bootstrap dropdown, so arrow keys work. */
export function MessageActions({ canEdit, canDelete, hasText, onReply, onEdit, onDelete, onForward, onCopy, onReact }: Props) {
  return (
    <div className="chat-message-actions d-flex gap-1">
      <EmojiPicker onPick={onReact} />
      <Dropdown align="end">
        <Dropdown.Toggle variant="" size="sm" className="chat-btn-quiet py-0" aria-label="Message actions" title="Message actions">
          <span aria-hidden="true">⋯</span>
        </Dropdown.Toggle>
        <Dropdown.Menu>
          <Dropdown.Item as="button" onClick={onReply}>Reply</Dropdown.Item>
          {canEdit && <Dropdown.Item as="button" onClick={onEdit}>Edit</Dropdown.Item>}
          <Dropdown.Item as="button" onClick={onForward}>Forward</Dropdown.Item>
          {hasText && <Dropdown.Item as="button" onClick={onCopy}>Copy text</Dropdown.Item>}
          {canDelete && (
            <Dropdown.Item as="button" className="text-danger" onClick={onDelete}>Delete</Dropdown.Item>
          )}
        </Dropdown.Menu>
      </Dropdown>
    </div>
  );
}
