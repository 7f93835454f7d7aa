import { useMemo, useState } from "react";
import Alert from "react-bootstrap/Alert";
import ListGroup from "react-bootstrap/ListGroup";
import Spinner from "react-bootstrap/Spinner";
import { Link } from "react-router-dom";
import type { S } from "../api/client";
import { MessageButton } from "../account/MessageButton";
import { PersonRow } from "../account/PersonRow";
import { SearchBox } from "../account/SearchBox";
import { SearchResults } from "../account/SearchResults";
import { usePeoplePresence } from "../account/usePeoplePresence";
import { useContacts } from "../account/useRelations";
import { useOpenDirect } from "../account/useOpenDirect";
import { useUserSearch } from "../account/useUserSearch";
import { useRooms } from "../realtime";
import "../account/account.css";

/** Find people, see who is online, and start a direct conversation. */
export function PeoplePage() {
  const [text, setText] = useState("");
  const search = useUserSearch(text);
  const contacts = useContacts();
  const rooms = useRooms();
  const direct = useOpenDirect();

  const contactUsers = useMemo(() => contacts.items.map((c) => c.user), [contacts.items]);
  const conversationUsers = useMemo(() => {
    const known = new Set(contactUsers.map((u) => u.id));
    return rooms.flatMap((r) => (r.summary.peer && !known.has(r.summary.peer.id) ? [r.summary.peer] : []));
  }, [rooms, contactUsers]);
  const presence = usePeoplePresence([...search.results, ...contactUsers, ...conversationUsers]);

  const row = (user: S["UserRef"]) => (
    <PersonRow key={user.id} user={user} presence={presence.get(user.id)} showPresence>
      <MessageButton user={user} open={direct.open} busy={direct.opening === user.id} />
    </PersonRow>
  );

  return (
    <div className="account-page">
      <h1 className="h3 mb-3">People</h1>
      {direct.error && <Alert variant="danger">{direct.error}</Alert>}
      <SearchBox value={text} onChange={setText} searching={search.searching} />
      <SearchResults search={search} row={row} />

      <section aria-labelledby="people-contacts" className="mb-4">
        <h2 id="people-contacts" className="h5">My contacts</h2>
        {contacts.loading ? (
          <Spinner animation="border" size="sm" role="status"><span className="visually-hidden">Loading contacts…</span></Spinner>
        ) : contacts.error ? (
          <Alert variant="danger">{contacts.error}</Alert>
        ) : contactUsers.length === 0 ? (
          <p className="text-body-secondary">No contacts yet. Search above, or manage them on the <Link to="/contacts">Contacts</Link> page.</p>
        ) : (
          <ListGroup as="ul">{contactUsers.map(row)}</ListGroup>
        )}
      </section>

      {conversationUsers.length > 0 && (
        <section aria-labelledby="people-direct">
          <h2 id="people-direct" className="h5">Direct conversations</h2>
          <ListGroup as="ul">{conversationUsers.map(row)}</ListGroup>
        </section>
      )}
    </div>
  );
}
