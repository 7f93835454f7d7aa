import { useState, type MouseEvent } from "react";
import Modal from "react-bootstrap/Modal";
import Spinner from "react-bootstrap/Spinner";
import type { S } from "../api/client";
import { fileSize } from "./format";
import { FileIcon } from "./Icons";
import { fetchAttachment, useBlobUrl } from "./useBlobUrl";

/** A message's files: images inline as thumbnails, other files as download links. */
export function Attachments({ files }: { files: S["AttachmentMeta"][] }) {
  if (files.length === 0) return null;
  return (
    <div className="d-flex flex-wrap gap-2 mt-1">
      {files.map((f) =>
        f.content_type.startsWith("image/") ? <ImageAttachment key={f.id} file={f} /> : <FileAttachment key={f.id} file={f} />,
      )}
    </div>
  );
}

function ImageAttachment({ file }: { file: S["AttachmentMeta"] }) {
  const thumb = useBlobUrl(file.id, true);
  const [open, setOpen] = useState(false);
  if (thumb.failed) return <FileAttachment file={file} />;
  return (
    <>
      <button type="button" className="chat-thumb-button" onClick={() => setOpen(true)} aria-label={`Open image ${file.filename}`}>
        {thumb.url ? (
          <img src={thumb.url} alt={file.filename} className="chat-thumb" />
        ) : (
          <span className="chat-thumb-placeholder">
            <Spinner animation="border" size="sm" role="status"><span className="visually-hidden">Loading image…</span></Spinner>
          </span>
        )}
      </button>
      {open && <FullImage file={file} onHide={() => setOpen(false)} />}
    </>
  );
}

function FullImage({ file, onHide }: { file: S["AttachmentMeta"]; onHide: () => void }) {
  const full = useBlobUrl(file.id, false);
  return (
    <Modal show onHide={onHide} size="xl" centered aria-labelledby={`image-${file.id}-title`}>
      <Modal.Header closeButton>
        <Modal.Title id={`image-${file.id}-title`} className="text-truncate fs-6">{file.filename}</Modal.Title>
      </Modal.Header>
      <Modal.Body className="text-center">
        {full.url ? (
          <>
            <img src={full.url} alt={file.filename} className="img-fluid" />
            <div className="mt-2">
              <a href={full.url} download={file.filename}>Download ({fileSize(file.size)})</a>
            </div>
          </>
        ) : full.failed ? (
          <p>The image cannot be loaded.</p>
        ) : (
          <Spinner animation="border" role="status"><span className="visually-hidden">Loading image…</span></Spinner>
        )}
      </Modal.Body>
    </Modal>
  );
}

function FileAttachment({ file }: { file: S["AttachmentMeta"] }) {
  const [busy, setBusy] = useState(false);
  const [failed, setFailed] = useState(false);

  async function download(e: MouseEvent<HTMLAnchorElement>) {
    e.preventDefault();
    setBusy(true);
    setFailed(false);
    try {
      const blob = await fetchAttachment(file.id, false);
      const url = URL.createObjectURL(blob);
      const a = document.createElement("a");
      a.href = url;
      a.download = file.filename;
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    } catch {
      setFailed(true);
    } finally {
      setBusy(false);
    }
  }

  return (
    <span className="d-inline-flex align-items-center gap-2 border rounded px-2 py-1">
      <FileIcon />
      <a
        href={`/v1/attachments/${file.id}`}
        download={file.filename}
        onClick={(e) => void download(e)}
        aria-label={`Download ${file.filename} (${fileSize(file.size)})`}
      >
        {file.filename}
      </a>
      <span className="small text-body-secondary">{fileSize(file.size)}</span>
      {busy && <Spinner animation="border" size="sm" role="status"><span className="visually-hidden">Downloading…</span></Spinner>}
      {failed && <span className="small text-danger">Download failed</span>}
    </span>
  );
}
