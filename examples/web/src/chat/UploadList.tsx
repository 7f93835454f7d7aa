import CloseButton from "react-bootstrap/CloseButton";
import { fileSize } from "./format";
import type { Upload } from "./useUploads";

/** The files going with the next message: progress, errors, and removing one. */
export function UploadList({ uploads, onRemove }: { uploads: Upload[]; onRemove: (key: string) => void }) {
  if (uploads.length === 0) return null;
  return (
    <ul className="list-unstyled d-flex flex-wrap gap-2 mb-2" aria-label="Attached files">
      {uploads.map((u) => (
        <li key={u.key} className={`border rounded px-2 py-1 small${u.status === "failed" ? " border-danger" : ""}`} style={{ minWidth: "12rem" }}>
          <div className="d-flex align-items-center gap-2">
            <span className="text-truncate flex-grow-1" style={{ maxWidth: "14rem" }}>{u.name}</span>
            <span className="text-body-secondary">{fileSize(u.size)}</span>
            <CloseButton aria-label={`Remove ${u.name}`} onClick={() => onRemove(u.key)} />
          </div>
          {u.status === "uploading" && (
            <div className="progress" style={{ height: "0.4rem" }}>
              <div
                className="progress-bar"
                role="progressbar"
                aria-label={`Uploading ${u.name}`}
                aria-valuemin={0}
                aria-valuemax={100}
                aria-valuenow={Math.round(u.progress * 100)}
                style={{ width: `${Math.round(u.progress * 100)}%` }}
              />
            </div>
          )}
          {u.status === "failed" && <div className="text-danger" role="alert">{u.error}</div>}
        </li>
      ))}
    </ul>
  );
}
