import { useId } from "react";
import Form from "react-bootstrap/Form";

/** The people search field: by the start of a username, or an exact email address. */
export function SearchBox({ value, onChange, searching }: { value: string; onChange: (v: string) => void; searching: boolean }) {
  const id = useId();
  return (
    <Form.Group controlId={id} className="mb-3" role="search">
      <Form.Label>Search by username or email</Form.Label>
      <Form.Control
        type="search"
        value={value}
        onChange={(e) => onChange(e.target.value)}
        placeholder="e.g. alice or alice@example.com"
        autoComplete="off"
        autoCapitalize="none"
        spellCheck={false}
        aria-busy={searching}
      />
    </Form.Group>
  );
}
