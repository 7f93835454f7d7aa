import { useEffect, useState } from "react";
import { avatarUrl } from "./avatarUrl";
import { displayName, initials } from "./format";
import "./account.css";

interface Props {
  user: { display_name: string; username: string };
  /** The avatar's attachment id; initials are shown without one. */
  avatar?: number | null | undefined;
  /** Diameter in pixels. */
  size?: number;
  /** Announce it as the person's picture (off when a name is shown next to it). */
  labelled?: boolean;
}

/** A person's round picture, or their initials. */
export function Avatar({ user, avatar, size = 40, labelled = false }: Props) {
  const [loaded, setLoaded] = useState<{ id: number; url: string }>();
  useEffect(() => {
    if (avatar == null) return;
    let live = true;
    void avatarUrl(avatar).then((url) => {
      if (live && url) setLoaded({ id: avatar, url });
    });
    return () => {
      live = false;
    };
  }, [avatar]);

  const name = displayName(user);
  const url = avatar != null && loaded?.id === avatar ? loaded.url : undefined;
  const style = { width: size, height: size, fontSize: size * 0.4 };
  return (
    <span
      className="avatar"
      style={style}
      role={labelled ? "img" : undefined}
      aria-label={labelled ? `${name}'s avatar` : undefined}
      aria-hidden={labelled ? undefined : true}
    >
      {url ? <img src={url} alt="" /> : initials(user)}
    </span>
  );
}
