import type { ReactNode } from "react";
import ListGroup from "react-bootstrap/ListGroup";
import { Link } from "react-router-dom";
import type { S } from "../api/client";
import { Avatar } from "./Avatar";
import { displayName } from "./format";
import { Presence } from "./Presence";
import "./account.css";

interface Props {
  user: S["UserRef"];
  /** Presence, when the list shows it. */
  presence?: S["PresenceInfo"] | undefined;
  showPresence?: boolean;
  /** Buttons for this person. */
  children?: ReactNode;
}

/** One person in a list: picture, name (to their profile), username, presence and actions. */
export function PersonRow({ user, presence, showPresence = false, children }: Props) {
  const name = displayName(user);
  return (
    <ListGroup.Item as="li" className="person-row" aria-label={name}>
      <Avatar user={user} />
      <div className="person-main">
        <Link to={`/users/${user.id}`} className="fw-semibold text-break">{name}</Link>
        <div className="small text-body-secondary text-break">@{user.username}</div>
        {showPresence && <Presence presence={presence} />}
      </div>
      {children && <div className="person-actions">{children}</div>}
    </ListGroup.Item>
  );
}
