import { afterEach, describe, expect, it, vi } from "vitest";
import { fetchEvents } from "../../../dashboard/src/lib/api";

/** The dashboard's backfill against a log whose start retention dropped (410 with `firstSeq`). */
const event = (seq: number) => ({
  type: "reading",
  seq,
  id: `e${seq}`,
  deviceId: "d1",
  occurredAt: "2026-12-03T10:00:00.000Z",
  recordedAt: "2026-12-03T10:00:00.000Z",
  vote: 1,
});

function serve(firstSeq: number, head: number) {
  const asked: string[] = [];
  vi.stubGlobal("fetch", async (path: string) => {
    asked.push(path);
    const url = new URL(path, "http://hub.test");
    const after = Number(url.searchParams.get("after"));
    const limit = Number(url.searchParams.get("limit"));
    if (after < firstSeq - 1) {
      return Response.json({ error: "events before the retained start are gone", issues: [], firstSeq }, { status: 410 });
    }
    const seqs = Array.from({ length: Math.max(0, Math.min(head, after + limit) - after) }, (_, i) => after + 1 + i);
    return Response.json({ events: seqs.map(event), next: null });
  });
  return asked;
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe("dashboard backfill after retention", () => {
  it("a 410 reads the part of the range still held", async () => {
    const asked = serve(41, 100);
    const events = await fetchEvents("MTC", { after: 10, limit: 50 });
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 20 }, (_, i) => 41 + i));
    expect(asked).toEqual(["/api/v1/locations/MTC/events?after=10&limit=50", "/api/v1/locations/MTC/events?after=40&limit=20"]);
  });

  it("a range wholly dropped reads nothing more; other failures still fail", async () => {
    const asked = serve(81, 100);
    expect(await fetchEvents("MTC", { after: 10, limit: 50 })).toEqual([]);
    expect(asked).toHaveLength(1);
    vi.stubGlobal("fetch", async () => Response.json({ error: "internal error", issues: [] }, { status: 500 }));
    await expect(fetchEvents("MTC", { after: 10, limit: 50 })).rejects.toThrow("HTTP 500");
    vi.stubGlobal("fetch", async () => new Response("gone", { status: 410 }));
    await expect(fetchEvents("MTC", { after: 10, limit: 50 }), "a 410 without the contract's body is an error").rejects.toThrow("HTTP 410");
  });
});
