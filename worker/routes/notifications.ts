import { Hono } from "hono";
import { channelsBody, type ChannelsResponse } from "../../protocol/notifications";
import { notificationConfigStub } from "../../durable-objects/notification-config";
import type { AppEnv } from "../env";
import { readJsonBody } from "../json-body";
import { bearerSecret } from "../middleware/bearer-secret";
import { parseOr400 } from "../params";

export const CHANNELS_BODY_LIMIT = 64 * 1024;

/**
 * The notification channels, under /api/v1/notifications (admin token both
 * ways: the answer names where alerts go). PUT replaces the whole set; a bad
 * body is 400 with every reason and changes nothing. Secrets are never
 * answered, only a hint of their last characters.
 */
export const notifications = new Hono<AppEnv>()
  .get("/", bearerSecret("ADMIN_TOKEN"), async (c) => c.json((await notificationConfigStub(c.env).get()) satisfies ChannelsResponse))
  .put("/", bearerSecret("ADMIN_TOKEN"), async (c) => {
    const { channels } = parseOr400(channelsBody, await readJsonBody(c.req.raw, CHANNELS_BODY_LIMIT), "channels");
    return c.json((await notificationConfigStub(c.env).put(channels)) satisfies ChannelsResponse);
  });
