import { useId, type InputHTMLAttributes } from "react";
import Form from "react-bootstrap/Form";

type InputProps = Omit<InputHTMLAttributes<HTMLInputElement>, "id" | "onChange" | "value" | "size"> & {
  /** A multi-line field. */
  as?: "textarea";
  rows?: number;
};

interface Props extends InputProps {
  label: string;
  value: string;
  onChange: (value: string) => void;
  /** A rule shown under the field while there is no error. */
  hint?: string;
  /** The server's or the client's complaint about the value. */
  error?: string | undefined;
}

/** A labelled input with its hint or its error, tied to it for screen readers. */
export function TextField({ label, value, onChange, hint, error, className, ...input }: Props) {
  const id = useId();
  const noteId = `${id}-note`;
  return (
    <Form.Group className={className ?? "mb-3"} controlId={id}>
      <Form.Label>{label}</Form.Label>
      <Form.Control
        {...input}
        value={value}
        onChange={(e) => onChange(e.target.value)}
        isInvalid={Boolean(error)}
        aria-invalid={error ? true : undefined}
        aria-describedby={error || hint ? noteId : undefined}
      />
      {error ? (
        <Form.Control.Feedback type="invalid" id={noteId}>{error}</Form.Control.Feedback>
      ) : (
        hint && <Form.Text id={noteId} muted>{hint}</Form.Text>
      )}
    </Form.Group>
  );
}
