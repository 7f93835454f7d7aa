import Button from "react-bootstrap/Button";
import type { S } from "../api/client";
import { displayName } from "./format";

/** Opens the direct conversation with `user`. */
export function MessageButton({ user, open, busy }: { user: S["UserRef"]; open: (id: number) => Promise<void>; busy: boolean }) {
  return (
    <Button size="sm" variant="primary" onClick={() => void open(user.id)} disabled={busy}>
      Message<span className="visually-hidden"> {displayName(user)}</span>
    </Button>
  );
}
