import { useCallback, useEffect, useRef, useState } from "react";
import { ApiError, errorText, type S } from "../api/client";
import { authorizedXhr } from "../auth/session";

/** A file being uploaded to a room for the next message. */
export interface Upload {
  key: string;
  name: string;
  size: number;
  /** 0 to 1. */
  progress: number;
  status: "uploading" | "done" | "failed";
  error?: string;
  meta?: S["AttachmentMeta"];
}

/** The error an upload answered with, as an `ApiError` when the body says which. */
function uploadError(xhr: XMLHttpRequest): ApiError {
  let body: unknown = null;
  try {
    body = JSON.parse(xhr.responseText);
  } catch {
    body = null;
  }
  if (body && typeof body === "object" && "code" in body && "message" in body) {
    const { code, message, field } = body as { code: string; message: string; field?: string | null };
    const retry = Number(xhr.getResponseHeader("retry-after"));
    return new ApiError(code, message, xhr.status, retry > 0 ? retry : undefined, field ?? undefined);
  }
  if (xhr.status === 0) return new ApiError("network", "The upload was interrupted. Check your connection.", 0);
  return new ApiError(`http_${xhr.status}`, `The server answered ${xhr.status}.`, xhr.status);
}

/** Uploads one file (multipart part `file`), reporting progress. */
async function send(roomId: number, file: File, onProgress: (p: number) => void, register: (x: XMLHttpRequest) => void) {
  const xhr = await authorizedXhr("POST", `/v1/rooms/${roomId}/attachments`);
  register(xhr);
  const form = new FormData();
  form.append("file", file, file.name);
  return new Promise<S["AttachmentMeta"]>((resolve, reject) => {
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) onProgress(e.loaded / e.total);
    };
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) resolve(JSON.parse(xhr.responseText) as S["AttachmentMeta"]);
      else reject(uploadError(xhr));
    };
    xhr.onerror = () => reject(uploadError(xhr));
    xhr.onabort = () => reject(new ApiError("aborted", "The upload was cancelled.", 0));
    xhr.send(form);
  });
}

/** The files attached to a room's next message, uploading as soon as they are added. */
export function useUploads(roomId: number) {
  const [uploads, setUploads] = useState<Upload[]>([]);
  const requests = useRef(new Map<string, XMLHttpRequest>());

  const update = useCallback((key: string, change: Partial<Upload>) => {
    setUploads((list) => list.map((u) => (u.key === key ? { ...u, ...change } : u)));
  }, []);

  const add = useCallback(
    (files: File[]) => {
      for (const file of files) {
        const key = crypto.randomUUID();
        setUploads((list) => [...list, { key, name: file.name || "file", size: file.size, progress: 0, status: "uploading" }]);
        send(roomId, file, (progress) => update(key, { progress }), (xhr) => requests.current.set(key, xhr)).then(
          (meta) => update(key, { status: "done", progress: 1, meta }),
          (e: unknown) => update(key, { status: "failed", error: errorText(e) }),
        ).finally(() => requests.current.delete(key));
      }
    },
    [roomId, update],
  );

  const remove = useCallback((key: string) => {
    requests.current.get(key)?.abort();
    setUploads((list) => list.filter((u) => u.key !== key));
  }, []);

  const clear = useCallback(() => setUploads([]), []);

  useEffect(() => {
    const pending = requests.current;
    return () => {
      for (const xhr of pending.values()) xhr.abort();
    };
  }, []);

  return { uploads, add, remove, clear };
}
