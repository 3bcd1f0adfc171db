import { sessionStatus, type SessionStatus } from "../../../protocol/access";
import { shareKey, whenUnauthorized } from "./share-key";

/** What the footer says about access, and whether a read was refused for want of a sign-in. */
export const access = $state<{ status: SessionStatus["access"] | "shared" | null; needsSignIn: boolean }>({
  status: shareKey ? "shared" : null,
  needsSignIn: false,
});

// A share link that stopped working is not fixed by signing in: the view shows its error instead.
whenUnauthorized(() => {
  if (!shareKey) access.needsSignIn = true;
});

export async function loadAccess(): Promise<void> {
  if (shareKey) return;
  const res = await fetch("/api/v1/session");
  const parsed = sessionStatus.safeParse(res.ok ? await res.json() : null);
  if (!parsed.success) return;
  access.status = parsed.data.access;
  // The overview reads over a socket only, whose refusal a browser cannot see: ask for the token up front.
  if (parsed.data.access === "token-required") access.needsSignIn = true;
}

/** Signs in with the viewer token; returns an error to show, or null (and the page reloads). */
export async function signIn(token: string): Promise<string | null> {
  const res = await fetch("/api/v1/session", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ token }) });
  if (res.ok) {
    window.location.reload();
    return null;
  }
  return res.status === 401 ? "That token is not the viewer token." : `Sign-in failed (HTTP ${res.status}).`;
}

export async function signOut(): Promise<void> {
  await fetch("/api/v1/session", { method: "DELETE" });
  window.location.reload();
}
