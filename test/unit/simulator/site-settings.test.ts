import { describe, expect, it } from "vitest";
import { settingsBody } from "../../../protocol/settings";
import { SITES } from "../../../simulator/model";
import { siteSettings } from "../../../simulator/site-settings";

describe("siteSettings", () => {
  it("Paoli: New York time, Sunday 10–17, other days 9–20", () => {
    const s = siteSettings(SITES.Paoli!);
    expect(s).toEqual({
      timeZone: "America/New_York",
      openingHours: {
        mon: [["09:00", "20:00"]],
        tue: [["09:00", "20:00"]],
        wed: [["09:00", "20:00"]],
        thu: [["09:00", "20:00"]],
        fri: [["09:00", "20:00"]],
        sat: [["09:00", "20:00"]],
        sun: [["10:00", "17:00"]],
      },
    });
  });

  it("closed days are left out (MTC: weekdays only), and every site's settings are valid for the API", () => {
    expect(Object.keys(siteSettings(SITES.MTC!).openingHours!)).toEqual(["mon", "tue", "wed", "thu", "fri"]);
    for (const site of Object.values(SITES)) expect(settingsBody.safeParse(siteSettings(site)).success).toBe(true);
  });

  it("the digest time when given (npm start sets it once the history is in), none otherwise", () => {
    expect(siteSettings(SITES.MTC!, "07:00")).toMatchObject({ timeZone: "Europe/London", digestAt: "07:00" });
    expect(siteSettings(SITES.MTC!)).not.toHaveProperty("digestAt");
    expect(settingsBody.safeParse(siteSettings(SITES.MTC!, "07:00")).success).toBe(true);
  });
});
