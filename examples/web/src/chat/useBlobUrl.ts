import { useEffect, useState } from "react";
import { api, unwrap } from "../api/client";

/**
 * Downloads an attachment (or its thumbnail) with the access token and returns a `blob:` URL
 * for it, revoked when the component unmounts. The endpoints need the bearer token, so a
 * plain `<img src>` cannot load them.
 */
export function useBlobUrl(attachmentId: number, thumbnail: boolean): { url: string | null; failed: boolean } {
  const [state, setState] = useState<{ key: string; url: string | null; failed: boolean }>({ key: "", url: null, failed: false });
  const key = `${attachmentId}:${thumbnail}`;

  useEffect(() => {
    let url: string | null = null;
    let cancelled = false;
    fetchAttachment(attachmentId, thumbnail).then(
      (blob) => {
        if (cancelled) return;
        url = URL.createObjectURL(blob);
        setState({ key, url, failed: false });
      },
      () => {
        if (!cancelled) setState({ key, url: null, failed: true });
      },
    );
    return () => {
      cancelled = true;
      if (url) URL.revokeObjectURL(url);
    };
  }, [attachmentId, thumbnail, key]);

  return state.key === key ? { url: state.url, failed: state.failed } : { url: null, failed: false };
}

/** The bytes of an attachment, or of its thumbnail, fetched with the access token. */
export async function fetchAttachment(attachmentId: number, thumbnail: boolean): Promise<Blob> {
  const params = { params: { path: { attachment_id: attachmentId } }, parseAs: "blob" as const };
  const answer = thumbnail
    ? api.GET("/v1/attachments/{attachment_id}/thumbnail", params)
    : api.GET("/v1/attachments/{attachment_id}", params);
  return unwrap<Blob>(answer);
}
