import { useEffect, useState } from "react";
import Alert from "react-bootstrap/Alert";
import Button from "react-bootstrap/Button";
import Card from "react-bootstrap/Card";
import Spinner from "react-bootstrap/Spinner";
import { useParams } from "react-router-dom";
import { api, errorText, unwrap, type S } from "../api/client";
import { Avatar } from "../account/Avatar";
import { displayName } from "../account/format";
import { Presence } from "../account/Presence";
import { usePeoplePresence } from "../account/usePeoplePresence";
import { useBlocks, useContacts } from "../account/useRelations";
import { useOpenDirect } from "../account/useOpenDirect";
import { useMe } from "../auth/session";
import "../account/account.css";

/** Someone's public profile, with what I can do about them. */
export function UserPage() {
  const userId = Number(useParams().userId);
  const me = useMe();
  const [profile, setProfile] = useState<{ id: number; value?: S["Profile"]; error?: string }>();
  const presence = usePeoplePresence(profile?.value ? [profile.value] : []);
  const contacts = useContacts();
  const blocks = useBlocks();
  const direct = useOpenDirect();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();

  useEffect(() => {
    if (!Number.isSafeInteger(userId)) return;
    let live = true;
    unwrap(api.GET("/v1/users/{user_id}", { params: { path: { user_id: userId } } }))
      .then((value) => live && setProfile({ id: userId, value }))
      .catch((e: unknown) => live && setProfile({ id: userId, error: errorText(e) }));
    return () => {
      live = false;
    };
  }, [userId]);

  if (!Number.isSafeInteger(userId)) return <Alert variant="warning" className="m-3">No such person.</Alert>;
  if (!profile || profile.id !== userId) {
    return (
      <div className="account-page">
        <Spinner animation="border" role="status"><span className="visually-hidden">Loading profile…</span></Spinner>
      </div>
    );
  }
  if (!profile.value) return <Alert variant="danger" className="m-3">{profile.error}</Alert>;

  const user = profile.value;
  const name = displayName(user);
  const self = user.id === me.id;
  const isContact = contacts.has(user.id);
  const isBlocked = blocks.has(user.id);

  async function act(action: (id: number) => Promise<void>) {
    setBusy(true);
    setError(undefined);
    try {
      await action(user.id);
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="account-page">
      <Card>
        <Card.Body className="d-flex flex-column flex-sm-row gap-3 align-items-sm-center">
          <Avatar user={user} avatar={user.avatar} size={96} labelled />
          <div className="flex-grow-1 min-w-0">
            <h1 className="h3 mb-0 text-break">{name}</h1>
            <p className="text-body-secondary mb-1">@{user.username}</p>
            {!self && !isBlocked && <Presence presence={presence.get(user.id)} />}
          </div>
        </Card.Body>
        {user.bio && (
          <Card.Body className="border-top">
            <h2 className="h6">About</h2>
            <p className="mb-0 text-break" style={{ whiteSpace: "pre-wrap" }}>{user.bio}</p>
          </Card.Body>
        )}
        {!self && (
          <Card.Footer className="d-flex flex-wrap gap-2">
            <Button onClick={() => void direct.open(user.id)} disabled={direct.opening !== undefined || isBlocked}>Message</Button>
            <Button
              variant={isContact ? "outline-secondary" : "outline-primary"}
              disabled={busy || contacts.loading}
              onClick={() => void act(isContact ? contacts.remove : contacts.add)}
            >
              {isContact ? "Remove contact" : "Add contact"}
            </Button>
            <Button
              variant={isBlocked ? "outline-secondary" : "outline-danger"}
              disabled={busy || blocks.loading}
              onClick={() => void act(isBlocked ? blocks.unblock : blocks.block)}
            >
              {isBlocked ? "Unblock" : "Block"}
            </Button>
          </Card.Footer>
        )}
      </Card>
      {(error ?? direct.error) && <Alert variant="danger" className="mt-3">{error ?? direct.error}</Alert>}
    </div>
  );
}
