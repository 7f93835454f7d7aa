import { useState } from "react";
import Alert from "react-bootstrap/Alert";
import Button from "react-bootstrap/Button";
import ListGroup from "react-bootstrap/ListGroup";
import Spinner from "react-bootstrap/Spinner";
import { errorText, type S } from "../api/client";
import { displayName } from "../account/format";
import { MessageButton } from "../account/MessageButton";
import { PersonRow } from "../account/PersonRow";
import { SearchBox } from "../account/SearchBox";
import { SearchResults } from "../account/SearchResults";
import { usePeoplePresence } from "../account/usePeoplePresence";
import { useBlocks, useContacts } from "../account/useRelations";
import { useOpenDirect } from "../account/useOpenDirect";
import { useUserSearch } from "../account/useUserSearch";
import "../account/account.css";

/** A button whose label names the person, for screen readers. */
function PersonButton({ user, label, onClick, variant, disabled }: {
  user: S["UserRef"]; label: string; onClick: () => void; variant: string; disabled: boolean;
}) {
  return (
    <Button size="sm" variant={variant} onClick={onClick} disabled={disabled}>
      {label}<span className="visually-hidden"> {displayName(user)}</span>
    </Button>
  );
}

/** My contacts and the people I block: search, add, remove, block, unblock. */
export function ContactsPage() {
  const [text, setText] = useState("");
  const search = useUserSearch(text);
  const contacts = useContacts();
  const blocks = useBlocks();
  const direct = useOpenDirect();
  const [busy, setBusy] = useState<number>();
  const [error, setError] = useState<string>();
  const contactUsers = contacts.items.map((c) => c.user);
  const presence = usePeoplePresence(contactUsers);

  async function act(userId: number, action: (id: number) => Promise<void>) {
    setBusy(userId);
    setError(undefined);
    try {
      await action(userId);
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(undefined);
    }
  }

  const contactButton = (user: S["UserRef"]) =>
    contacts.has(user.id) ? (
      <PersonButton user={user} label="Remove" variant="outline-secondary" disabled={busy === user.id} onClick={() => void act(user.id, contacts.remove)} />
    ) : (
      <PersonButton user={user} label="Add" variant="primary" disabled={busy === user.id} onClick={() => void act(user.id, contacts.add)} />
    );
  const blockButton = (user: S["UserRef"]) =>
    blocks.has(user.id) ? (
      <PersonButton user={user} label="Unblock" variant="outline-secondary" disabled={busy === user.id} onClick={() => void act(user.id, blocks.unblock)} />
    ) : (
      <PersonButton user={user} label="Block" variant="outline-danger" disabled={busy === user.id} onClick={() => void act(user.id, blocks.block)} />
    );

  return (
    <div className="account-page">
      <h1 className="h3 mb-3">Contacts</h1>
      {(error ?? direct.error) && <Alert variant="danger">{error ?? direct.error}</Alert>}
      <SearchBox value={text} onChange={setText} searching={search.searching} />
      <SearchResults
        search={search}
        row={(user) => (
          <PersonRow key={user.id} user={user}>
            {contactButton(user)}
            {blockButton(user)}
          </PersonRow>
        )}
      />

      <section aria-labelledby="contacts-mine" className="mb-4">
        <h2 id="contacts-mine" className="h5">My contacts</h2>
        {contacts.loading ? (
          <Spinner animation="border" size="sm" role="status"><span className="visually-hidden">Loading contacts…</span></Spinner>
        ) : contacts.error ? (
          <Alert variant="danger">{contacts.error}</Alert>
        ) : contactUsers.length === 0 ? (
          <p className="text-body-secondary">No contacts yet: search for people above and add them.</p>
        ) : (
          <ListGroup as="ul">
            {contactUsers.map((user) => (
              <PersonRow key={user.id} user={user} presence={presence.get(user.id)} showPresence={!blocks.has(user.id)}>
                <MessageButton user={user} open={direct.open} busy={direct.opening === user.id} />
                {contactButton(user)}
                {blockButton(user)}
              </PersonRow>
            ))}
          </ListGroup>
        )}
      </section>

      <section aria-labelledby="contacts-blocked">
        <h2 id="contacts-blocked" className="h5">Blocked</h2>
        <p className="small text-body-secondary">
          People you block cannot message you directly, and you no longer see when they are online or typing. They are not told.
        </p>
        {blocks.error && <Alert variant="danger">{blocks.error}</Alert>}
        {!blocks.loading && blocks.items.length === 0 ? (
          <p className="text-body-secondary">You block nobody.</p>
        ) : (
          <ListGroup as="ul">
            {blocks.items.map((user) => (
              <PersonRow key={user.id} user={user}>{blockButton(user)}</PersonRow>
            ))}
          </ListGroup>
        )}
      </section>
    </div>
  );
}
