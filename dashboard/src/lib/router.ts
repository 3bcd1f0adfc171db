import { locationName } from "../../../protocol/ids";

export type Route = { view: "overview" } | { view: "location"; location: string } | { view: "missing"; path: string };

const LOCATION_PATH = /^\/locations\/([^/]+)\/?$/;

/** The view for a path; a location name that could not exist is "missing", not a request the API would refuse. */
export function routeFor(pathname: string): Route {
  if (pathname === "/" || pathname === "") return { view: "overview" };
  const match = LOCATION_PATH.exec(pathname);
  if (match) {
    let name: string;
    try {
      name = decodeURIComponent(match[1]!);
    } catch {
      return { view: "missing", path: pathname };
    }
    if (locationName.safeParse(name).success) return { view: "location", location: name };
  }
  return { view: "missing", path: pathname };
}

export const locationHref = (location: string): string => `/locations/${encodeURIComponent(location)}`;
