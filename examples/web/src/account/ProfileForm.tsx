import { useState, type FormEvent } from "react";
import Alert from "react-bootstrap/Alert";
import Button from "react-bootstrap/Button";
import Form from "react-bootstrap/Form";
import { api, unwrap, type S } from "../api/client";
import { setMe } from "../auth/session";
import { formErrors, NO_ERRORS, type FormErrors } from "./formErrors";
import { TextField } from "./TextField";

/** The server's limits (jeco-core limits.rs). */
const DISPLAY_NAME_MAX = 64;
const BIO_MAX = 500;

/** Display name and bio, saved with `PATCH /v1/me`. */
export function ProfileForm({ me }: { me: S["Account"] }) {
  const [displayName, setDisplayName] = useState(me.display_name);
  const [bio, setBio] = useState(me.bio);
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS);
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState(false);
  const changed = displayName.trim() !== me.display_name || bio.trim() !== me.bio;

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setSaved(false);
    setErrors(NO_ERRORS);
    try {
      const account = await unwrap(api.PATCH("/v1/me", { body: { display_name: displayName.trim(), bio: bio.trim() } }));
      setMe(account);
      setDisplayName(account.display_name);
      setBio(account.bio);
      setSaved(true);
    } catch (e) {
      setErrors(formErrors(e, ["display_name", "bio"]));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Form onSubmit={submit} noValidate>
      {errors.form && <Alert variant="danger">{errors.form}</Alert>}
      <TextField
        label="Display name"
        value={displayName}
        onChange={(v) => {
          setDisplayName(v);
          setSaved(false);
        }}
        hint={`Shown instead of your username (@${me.username}). Up to ${DISPLAY_NAME_MAX} characters; empty shows the username.`}
        error={errors.fields.display_name}
        maxLength={DISPLAY_NAME_MAX}
        autoComplete="nickname"
      />
      <TextField
        label="Bio"
        as="textarea"
        rows={3}
        value={bio}
        onChange={(v) => {
          setBio(v);
          setSaved(false);
        }}
        hint={`${Array.from(bio).length} / ${BIO_MAX} characters`}
        error={errors.fields.bio}
        maxLength={BIO_MAX}
      />
      <div className="d-flex align-items-center gap-3">
        <Button type="submit" disabled={busy || !changed}>{busy ? "Saving…" : "Save profile"}</Button>
        <span role="status" className="text-success small">{saved ? "Profile saved." : ""}</span>
      </div>
    </Form>
  );
}
