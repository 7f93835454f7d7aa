import { useState, type FormEvent } from "react";
import Alert from "react-bootstrap/Alert";
import Button from "react-bootstrap/Button";
import Form from "react-bootstrap/Form";
import { ApiError } from "../api/client";
import { changePassword } from "../auth/session";
import { formErrors, NO_ERRORS, type FormErrors } from "./formErrors";
import { PASSWORD_HINT, passwordProblem } from "./rules";
import { TextField } from "./TextField";

/** Changes the password; every other device is signed out, this one stays signed in. */
export function PasswordForm({ username }: { username: string }) {
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [confirm, setConfirm] = useState("");
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS);
  const [tried, setTried] = useState(false);
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState(false);

  const local = {
    current: current ? undefined : "Enter your current password.",
    next: passwordProblem(next, username),
    confirm: confirm === next ? undefined : "The passwords do not match.",
  };
  const shown = (field: keyof typeof local) => errors.fields[field] ?? (tried ? local[field] : undefined);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setTried(true);
    setDone(false);
    setErrors(NO_ERRORS);
    if (local.current || local.next || local.confirm) return;
    setBusy(true);
    try {
      await changePassword(current, next);
      setCurrent("");
      setNext("");
      setConfirm("");
      setTried(false);
      setDone(true);
    } catch (e) {
      if (e instanceof ApiError && e.code === "invalid_credentials") {
        setErrors({ fields: { current: "The current password is wrong." } });
      } else {
        setErrors(formErrors(e, ["current", "next"], { password: "next", new_password: "next", current_password: "current" }));
      }
    } finally {
      setBusy(false);
    }
  }

  return (
    <Form onSubmit={submit} noValidate>
      <p className="text-body-secondary small">
        Changing your password signs out every other device and browser where you are signed in. This one stays signed in.
      </p>
      {errors.form && <Alert variant="danger">{errors.form}</Alert>}
      {done && <Alert variant="success" role="status">Password changed. Your other devices were signed out.</Alert>}
      <TextField
        label="Current password"
        type="password"
        value={current}
        onChange={setCurrent}
        error={shown("current")}
        autoComplete="current-password"
        required
      />
      <TextField
        label="New password"
        type="password"
        value={next}
        onChange={setNext}
        hint={PASSWORD_HINT}
        error={shown("next")}
        autoComplete="new-password"
        maxLength={128}
        required
      />
      <TextField
        label="Confirm new password"
        type="password"
        value={confirm}
        onChange={setConfirm}
        error={shown("confirm")}
        autoComplete="new-password"
        required
      />
      <Button type="submit" disabled={busy}>{busy ? "Changing…" : "Change password"}</Button>
    </Form>
  );
}
