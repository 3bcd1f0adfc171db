import type { z } from "zod";
import { wellFormedText } from "./ids";

/**
 * Flattens zod issues into `path: message` lines a person can act on. Paths
 * and messages may quote the client's keys, so they leave as valid Unicode.
 */
export function formatIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const path = issue.path.map(String).join(".");
    return wellFormedText(path ? `${path}: ${issue.message}` : issue.message);
  });
}
