import { useState, type FormEvent } from "react";
import Alert from "react-bootstrap/Alert";
import Button from "react-bootstrap/Button";
import Form from "react-bootstrap/Form";
import { Link } from "react-router-dom";
import { AuthCard } from "../account/AuthCard";
import { formErrors, NO_ERRORS, type FormErrors } from "../account/formErrors";
import { PASSWORD_HINT, passwordProblem, USERNAME_HINT, usernameProblem } from "../account/rules";
import { TextField } from "../account/TextField";
import { register } from "../auth/session";

/** Create an account; signed in right after. */
export function RegisterPage() {
  const [username, setUsername] = useState("");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS);
  const [tried, setTried] = useState(false);
  const [busy, setBusy] = useState(false);

  const local = {
    username: usernameProblem(username),
    email: email.trim() ? undefined : "Enter your email address.",
    password: passwordProblem(password, username),
  };
  const shown = (field: keyof typeof local) => errors.fields[field] ?? (tried ? local[field] : undefined);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setTried(true);
    setErrors(NO_ERRORS);
    if (local.username || local.email || local.password) return;
    setBusy(true);
    try {
      await register(username.trim(), email.trim(), password);
    } catch (e) {
      setErrors(formErrors(e, ["username", "email", "password"], { username_taken: "username", email_taken: "email" }));
      setBusy(false);
    }
  }

  return (
    <AuthCard title="Create an account" footer={<>Have an account? <Link to="/login">Sign in</Link></>}>
      {errors.form && <Alert variant="danger">{errors.form}</Alert>}
      <Form onSubmit={submit} noValidate>
        <TextField
          label="Username"
          value={username}
          onChange={setUsername}
          hint={USERNAME_HINT}
          error={shown("username")}
          autoComplete="username"
          autoCapitalize="none"
          spellCheck={false}
          maxLength={32}
          required
          autoFocus
        />
        <TextField
          label="Email"
          type="email"
          value={email}
          onChange={setEmail}
          hint="Only used to reset your password."
          error={shown("email")}
          autoComplete="email"
          required
        />
        <TextField
          label="Password"
          type="password"
          value={password}
          onChange={setPassword}
          hint={PASSWORD_HINT}
          error={shown("password")}
          autoComplete="new-password"
          maxLength={128}
          required
        />
        <Button type="submit" className="w-100" disabled={busy}>
          {busy ? "Creating account…" : "Create account"}
        </Button>
      </Form>
    </AuthCard>
  );
}
