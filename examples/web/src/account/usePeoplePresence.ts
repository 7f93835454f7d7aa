import { useMemo } from "react";
import type { S } from "../api/client";
import { usePresence } from "../realtime";

/** Live presence of the given people; the id list is kept stable while its content is. */
export function usePeoplePresence(users: { id: number }[]): Map<number, S["PresenceInfo"]> {
  const key = [...new Set(users.map((u) => u.id))].sort((a, b) => a - b).join(",");
  const ids = useMemo(() => (key ? key.split(",").map(Number) : []), [key]);
  return usePresence(ids);
}
