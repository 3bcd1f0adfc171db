import { dailyResponse, heatmapResponse, weeklyResponse, type DailyResponse, type HeatmapResponse, type WeeklyResponse } from "../../../protocol/calendar";
import { getJson, locationPath } from "./api";
import { withKey } from "./share-key";

/** The calendar reads of the day, week and heatmap views (a lazy chunk: not in the first bundle). */

const flag = (openOnly: boolean) => (openOnly ? "openOnly=true" : "openOnly=false");

/** The last `days` local days ending today (the location's calendar decides what today is). */
export function fetchDaily(location: string, openOnly: boolean, signal?: AbortSignal): Promise<DailyResponse> {
  return getJson(`${locationPath(location)}/daily?${flag(openOnly)}`, dailyResponse, signal);
}

export function fetchWeekly(location: string, openOnly: boolean, signal?: AbortSignal): Promise<WeeklyResponse> {
  return getJson(`${locationPath(location)}/weekly?${flag(openOnly)}`, weeklyResponse, signal);
}

export function fetchHeatmap(location: string, weeks: number, openOnly: boolean, signal?: AbortSignal): Promise<HeatmapResponse> {
  return getJson(`${locationPath(location)}/heatmap?weeks=${weeks}&${flag(openOnly)}`, heatmapResponse, signal);
}

/** The export link for local days `from`…`to` (the browser downloads it; the server streams it). */
export const exportHref = (location: string, from: string, to: string, format: "csv" | "ndjson"): string =>
  withKey(`${locationPath(location)}/export?from=${from}&to=${to}&format=${format}`);
