import type { ReactNode } from "react";
import Alert from "react-bootstrap/Alert";
import ListGroup from "react-bootstrap/ListGroup";
import type { S } from "../api/client";
import type { Search } from "./useUserSearch";

/** The results of a people search, or why there are none, announced politely. */
export function SearchResults({ search, row }: { search: Search; row: (user: S["UserRef"]) => ReactNode }) {
  if (!search.query) return null;
  return (
    <section aria-label="Search results" className="mb-4">
      {search.error && <Alert variant="danger">{search.error}</Alert>}
      <p className="visually-hidden" role="status">
        {search.searching ? "Searching…" : `${search.results.length} found`}
      </p>
      {!search.error && !search.searching && search.results.length === 0 && (
        <p className="text-body-secondary">Nobody found for “{search.query}”. Usernames match from their start; emails must match exactly.</p>
      )}
      {search.results.length > 0 && <ListGroup as="ul">{search.results.map(row)}</ListGroup>}
    </section>
  );
}
