import { useState, type FormEvent } from "react";
import Alert from "react-bootstrap/Alert";
import Button from "react-bootstrap/Button";
import Form from "react-bootstrap/Form";
import { Link } from "react-router-dom";
import { api, unwrap } from "../api/client";
import { AuthCard } from "../account/AuthCard";
import { formErrors, NO_ERRORS, type FormErrors } from "../account/formErrors";
import { TextField } from "../account/TextField";

/** Asks for a reset link by mail. The answer never tells whether the address has an account. */
export function ForgotPasswordPage() {
  const [email, setEmail] = useState("");
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS);
  const [busy, setBusy] = useState(false);
  const [sent, setSent] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setErrors(NO_ERRORS);
    try {
      await unwrap(api.POST("/v1/auth/password-reset", { body: { email: email.trim() } }));
      setSent(true);
    } catch (e) {
      setErrors(formErrors(e, ["email"]));
    } finally {
      setBusy(false);
    }
  }

  return (
    <AuthCard title="Reset your password" footer={<Link to="/login">Back to sign in</Link>}>
      {sent ? (
        <Alert variant="success" role="status" className="mb-0">
          If an account exists, a link was sent to {email.trim()}. It works once and expires soon.
        </Alert>
      ) : (
        <>
          <p className="text-body-secondary">Enter the email address of your account and we will mail you a link to choose a new password.</p>
          {errors.form && <Alert variant="danger">{errors.form}</Alert>}
          <Form onSubmit={submit} noValidate>
            <TextField
              label="Email"
              type="email"
              value={email}
              onChange={setEmail}
              error={errors.fields.email}
              autoComplete="email"
              required
              autoFocus
            />
            <Button type="submit" className="w-100" disabled={busy || !email.trim()}>
              {busy ? "Sending…" : "Send reset link"}
            </Button>
          </Form>
        </>
      )}
    </AuthCard>
  );
}
