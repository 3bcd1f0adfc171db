import { z } from "zod";

/** The talk's three buttons: sad 0, neutral 0.5, happy 1. */
export const vote = z.union([z.literal(0), z.literal(0.5), z.literal(1)], {
  error: "vote must be exactly 0, 0.5 or 1",
});
/** Degrees Celsius; the bridge converts °F before it gets here. */
export const temperature = z
  .number({ error: "temperature must be a finite number (°C)" })
  .min(-100, "temperature must be at least -100 °C")
  .max(200, "temperature must be at most 200 °C");
/** Relative humidity in percent. */
export const humidity = z
  .number({ error: "humidity must be a finite number (%)" })
  .min(0, "humidity must be at least 0 %")
  .max(100, "humidity must be at most 100 %");

export const readings = z.object({
  vote: vote.optional(),
  temperature: temperature.optional(),
  humidity: humidity.optional(),
});
export type Readings = z.infer<typeof readings>;

export const hasReading = (r: Readings): boolean =>
  r.vote !== undefined || r.temperature !== undefined || r.humidity !== undefined;

export const NO_READING = "an event must carry at least one of vote, temperature, humidity";
