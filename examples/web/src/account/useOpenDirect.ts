import { useCallback, useState } from "react";
import { useNavigate } from "react-router-dom";
import { api, errorText, unwrap } from "../api/client";

/** Opens (creating on first use) the direct conversation with a person and goes there. */
export function useOpenDirect(): { open: (userId: number) => Promise<void>; opening: number | undefined; error: string | undefined } {
  const navigate = useNavigate();
  const [opening, setOpening] = useState<number>();
  const [error, setError] = useState<string>();
  const open = useCallback(
    async (userId: number) => {
      setOpening(userId);
      setError(undefined);
      try {
        const room = await unwrap(api.POST("/v1/direct/{user_id}", { params: { path: { user_id: userId } } }));
        await navigate(`/rooms/${room.id}`);
      } catch (e) {
        setError(errorText(e));
      } finally {
        setOpening(undefined);
      }
    },
    [navigate],
  );
  return { open, opening, error };
}
