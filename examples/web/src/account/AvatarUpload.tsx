import { useId, useState, type ChangeEvent } from "react";
import Alert from "react-bootstrap/Alert";
import Button from "react-bootstrap/Button";
import Form from "react-bootstrap/Form";
import { api, errorText, unwrap, type S } from "../api/client";
import { setMe } from "../auth/session";
import { Avatar } from "./Avatar";

const ACCEPT = "image/png,image/jpeg,image/gif,image/webp";

/** Uploads a new avatar (`POST /v1/me/avatar`, then `PATCH /v1/me {avatar}`), or removes it. */
export function AvatarUpload({ me }: { me: S["Account"] }) {
  const id = useId();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();

  async function save(update: () => Promise<number | null>) {
    setBusy(true);
    setError(undefined);
    try {
      const avatar = await update();
      setMe(await unwrap(api.PATCH("/v1/me", { body: { avatar } })));
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  }

  function choose(event: ChangeEvent<HTMLInputElement>) {
    const input = event.currentTarget;
    const file = input.files?.[0];
    input.value = "";
    if (!file) return;
    const form = new FormData();
    form.append("file", file, file.name);
    void save(async () => {
      const meta = await unwrap(api.POST("/v1/me/avatar", { body: { file: "" }, bodySerializer: () => form }));
      return meta.id;
    });
  }

  return (
    <div className="d-flex flex-column flex-sm-row align-items-sm-center gap-3">
      <Avatar user={me} avatar={me.avatar} size={96} labelled />
      <div className="flex-grow-1">
        <Form.Group controlId={id} className="mb-2">
          <Form.Label>Avatar image</Form.Label>
          <Form.Control type="file" accept={ACCEPT} onChange={choose} disabled={busy} aria-describedby={`${id}-hint`} />
          <Form.Text id={`${id}-hint`} muted>PNG, JPEG, GIF or WebP. Everyone signed in can see it.</Form.Text>
        </Form.Group>
        {me.avatar != null && (
          <Button variant="outline-secondary" size="sm" disabled={busy} onClick={() => void save(() => Promise.resolve(null))}>
            Remove avatar
          </Button>
        )}
        <span role="status" className="small ms-2">{busy ? "Uploading…" : ""}</span>
        {error && <Alert variant="danger" className="mt-2 mb-0">{error}</Alert>}
      </div>
    </div>
  );
}
