import { useEffect, useState, type FormEvent } from "react";
import Alert from "react-bootstrap/Alert";
import Button from "react-bootstrap/Button";
import Form from "react-bootstrap/Form";
import { Link, useNavigate } from "react-router-dom";
import { api, unwrap } from "../api/client";
import { AuthCard } from "../account/AuthCard";
import { formErrors, NO_ERRORS, type FormErrors } from "../account/formErrors";
import { PASSWORD_HINT, passwordProblem } from "../account/rules";
import { TextField } from "../account/TextField";

/** How long the success message shows before the login page opens. */
const REDIRECT_MS = 2500;

/** The reset token of the mailed link, `…/reset-password#token=…` (a fragment never reaches servers or logs). */
function tokenFromLink(): string {
  const fragment = new URLSearchParams(window.location.hash.slice(1));
  const query = new URLSearchParams(window.location.search);
  return fragment.get("token") ?? query.get("token") ?? "";
}

/** Sets a new password with the token from the reset mail, then goes to the login page. */
export function ResetPasswordPage() {
  const navigate = useNavigate();
  const [token] = useState(tokenFromLink);
  const [password, setPassword] = useState("");
  const [confirm, setConfirm] = useState("");
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS);
  const [tried, setTried] = useState(false);
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState(false);

  // The token is a secret: out of the address bar (and so out of history and screenshots) at once.
  useEffect(() => {
    if (window.location.hash || window.location.search) {
      window.history.replaceState(window.history.state, "", window.location.pathname);
    }
  }, []);

  useEffect(() => {
    if (!done) return;
    const timer = window.setTimeout(() => void navigate("/login", { replace: true }), REDIRECT_MS);
    return () => window.clearTimeout(timer);
  }, [done, navigate]);

  const local = {
    password: passwordProblem(password),
    confirm: confirm === password ? undefined : "The passwords do not match.",
  };

  async function submit(event: FormEvent) {
    event.preventDefault();
    setTried(true);
    setErrors(NO_ERRORS);
    if (local.password || local.confirm) return;
    setBusy(true);
    try {
      await unwrap(api.POST("/v1/auth/password-reset/confirm", { body: { token, new_password: password } }));
      setDone(true);
    } catch (e) {
      setErrors(formErrors(e, ["password"], { new_password: "password" }));
    } finally {
      setBusy(false);
    }
  }

  if (!token) {
    return (
      <AuthCard title="Choose a new password" footer={<Link to="/login">Back to sign in</Link>}>
        <Alert variant="warning" className="mb-0">
          This page needs the link from the reset mail. <Link to="/forgot-password">Ask for a new link</Link>.
        </Alert>
      </AuthCard>
    );
  }

  if (done) {
    return (
      <AuthCard title="Password changed">
        <Alert variant="success" role="status">
          Your password was changed and every device was signed out. Taking you to sign in…
        </Alert>
        <Link to="/login" className="btn btn-primary w-100">Sign in now</Link>
      </AuthCard>
    );
  }

  return (
    <AuthCard title="Choose a new password" footer={<Link to="/login">Back to sign in</Link>}>
      {errors.form && (
        <Alert variant="danger">
          {errors.form} <Link to="/forgot-password">Ask for a new link</Link>.
        </Alert>
      )}
      <Form onSubmit={submit} noValidate>
        <TextField
          label="New password"
          type="password"
          value={password}
          onChange={setPassword}
          hint={PASSWORD_HINT}
          error={errors.fields.password ?? (tried ? local.password : undefined)}
          autoComplete="new-password"
          maxLength={128}
          required
          autoFocus
        />
        <TextField
          label="Confirm new password"
          type="password"
          value={confirm}
          onChange={setConfirm}
          error={tried ? local.confirm : undefined}
          autoComplete="new-password"
          required
        />
        <Button type="submit" className="w-100" disabled={busy}>
          {busy ? "Saving…" : "Set new password"}
        </Button>
      </Form>
    </AuthCard>
  );
}
