import { ApiError } from "./errors";

/** Every secret the worker knows; each one is compared with the others so no two can be the same. */
export const SECRET_NAMES = ["INGEST_TOKEN", "ADMIN_TOKEN", "VIEWER_TOKEN", "SHARE_SECRET"] as const;
export type SecretName = (typeof SECRET_NAMES)[number];

/** Shorter secrets can be guessed or were typed by hand; 32 characters of base64url is 192 bits. */
export const MIN_SECRET_LENGTH = 32;

const WHY: Record<SecretName, string> = {
  INGEST_TOKEN: "the bridge's bearer token for ingest and the commands socket",
  ADMIN_TOKEN: "the bearer token for admin routes",
  VIEWER_TOKEN: "the token that unlocks reads and live sockets",
  SHARE_SECRET: "the key that signs share links",
};

const howToSet = (name: SecretName) => `set it with \`wrangler secret put ${name}\` (or in .dev.vars for local development)`;

/**
 * The secret `name`, or the 503 that says what is wrong with it: unset,
 * shorter than 32 characters, or equal to another secret (the admin token must
 * never open what the viewer token opens, and the other way round). Only the
 * routes that need a secret check it, so a bad VIEWER_TOKEN does not stop ingest.
 */
export function requireSecret(env: Env, name: SecretName): string {
  const value = env[name];
  if (!value) throw new ApiError(503, `${name} is not configured`, [howToSet(name)]);
  if (value.length < MIN_SECRET_LENGTH) {
    throw new ApiError(503, `${name} is too short`, [
      `${name} (${WHY[name]}) must be at least ${MIN_SECRET_LENGTH} characters; generate one with \`openssl rand -base64 33\``,
    ]);
  }
  const twin = SECRET_NAMES.find((other) => other !== name && env[other] === value);
  if (twin) throw new ApiError(503, `${name} is the same as ${twin}`, [`every secret must be different: ${howToSet(name)} with a new value`]);
  return value;
}

/** Whether `name` is set at all (VIEWER_TOKEN unset means reads are public). */
export const isSet = (env: Env, name: SecretName): boolean => Boolean(env[name]);
