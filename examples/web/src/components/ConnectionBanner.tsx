import { useEffect, useState } from "react";
import Alert from "react-bootstrap/Alert";
import Button from "react-bootstrap/Button";
import Spinner from "react-bootstrap/Spinner";
import { retryNow, useConnection } from "../realtime";

/** Seconds left until `at`, ticking. */
function useCountdown(at: number | undefined): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (at === undefined) return;
    const timer = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(timer);
  }, [at]);
  return at === undefined ? 0 : Math.max(0, Math.ceil((at - now) / 1000));
}

/** Whether `active` has lasted `ms` (so that a quick connection does not flash a banner). */
function useLasting(active: boolean, ms: number): boolean {
  const [lasted, setLasted] = useState(false);
  useEffect(() => {
    if (!active) return;
    const timer = window.setTimeout(() => setLasted(true), ms);
    return () => {
      window.clearTimeout(timer);
      setLasted(false);
    };
  }, [active, ms]);
  return active && lasted;
}

/** The connection's state when it is not simply online; a quiet hint when on the SSE fallback. */
export function ConnectionBanner() {
  const connection = useConnection();
  const seconds = useCountdown(connection.state === "offline" ? connection.retryAt : undefined);
  // The first connection usually takes a moment: only say so when it takes longer.
  const slow = useLasting(connection.state === "connecting", 1000);

  if (connection.state === "online") {
    if (connection.transport !== "sse") return null;
    return (
      <div role="status" className="small text-body-secondary text-center border-bottom py-1 px-2">
        Live updates over SSE
      </div>
    );
  }
  if (connection.state === "offline" || connection.state === "reconnecting") {
    // One banner for the whole time away, whether waiting or trying, so that it does not flicker.
    const trying = connection.state === "reconnecting";
    return (
      <Alert variant="warning" role="status" className="rounded-0 mb-0 py-2 d-flex flex-wrap align-items-center gap-2">
        <span className="me-auto">
          Offline — messages will be sent when the connection is back.
          {trying ? <> Reconnecting…</> : seconds > 0 && <> Retrying in {seconds} s.</>}
        </span>
        <Button size="sm" variant="outline-secondary" onClick={retryNow} disabled={trying}>
          Retry now
        </Button>
      </Alert>
    );
  }
  if (!slow) return null;
  return (
    <Alert variant="info" role="status" className="rounded-0 mb-0 py-2 d-flex align-items-center gap-2">
      <Spinner animation="border" size="sm" aria-hidden="true" />
      <span>Connecting…</span>
    </Alert>
  );
}
