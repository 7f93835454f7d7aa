import { useState, type FormEvent } from "react";
import Alert from "react-bootstrap/Alert";
import Button from "react-bootstrap/Button";
import Form from "react-bootstrap/Form";
import { Link } from "react-router-dom";
import { AuthCard } from "../account/AuthCard";
import { formErrors, NO_ERRORS, type FormErrors } from "../account/formErrors";
import { TextField } from "../account/TextField";
import { login, useSession } from "../auth/session";

/** Sign in with a username or an email address; the app opens where it was asked for. */
export function LoginPage() {
  const session = useSession();
  const [name, setName] = useState("");
  const [password, setPassword] = useState("");
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS);
  const [busy, setBusy] = useState(false);
  const reason = session.status === "signed-out" ? session.reason : undefined;

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setErrors(NO_ERRORS);
    try {
      await login(name.trim(), password);
    } catch (e) {
      setErrors(formErrors(e, ["login", "password"]));
      setBusy(false);
    }
  }

  return (
    <AuthCard
      title="Sign in"
      footer={<>New here? <Link to="/register">Create an account</Link></>}
    >
      {reason && !errors.form && <Alert variant="info">{reason}</Alert>}
      {errors.form && <Alert variant="danger">{errors.form}</Alert>}
      <Form onSubmit={submit} noValidate>
        <TextField
          label="Username or email"
          value={name}
          onChange={setName}
          error={errors.fields.login}
          autoComplete="username"
          autoCapitalize="none"
          spellCheck={false}
          required
          autoFocus
        />
        <TextField
          label="Password"
          type="password"
          value={password}
          onChange={setPassword}
          error={errors.fields.password}
          autoComplete="current-password"
          required
        />
        <Button type="submit" className="w-100" disabled={busy || !name.trim() || !password}>
          {busy ? "Signing in…" : "Sign in"}
        </Button>
      </Form>
      <p className="text-center mt-3 mb-0 small">
        <Link to="/forgot-password">Forgot your password?</Link>
      </p>
    </AuthCard>
  );
}
