import { describe, expect, it } from "vitest";
import { startsTooLow } from "./reveal";

describe("revealing the analysis views", () => {
  it("scrolls when the views start below the fold or in the lower half", () => {
    expect(startsTooLow(932, 900)).toBe(true);
    expect(startsTooLow(846, 900)).toBe(true);
    expect(startsTooLow(451, 900)).toBe(true);
  });
  it("leaves views the user already sees where they are", () => {
    expect(startsTooLow(450, 900)).toBe(false);
    expect(startsTooLow(0, 900)).toBe(false);
    expect(startsTooLow(-300, 900)).toBe(false);
  });
});
