import { describe, expect, it, vi } from "vitest";
import { ApiError } from "./api";
import { datasetInfo } from "./fixtures";
import { datasetByKey, instanceUrl, loadInstanceText, previewKind, textOf } from "./instances";

const answer = (status: number, body: unknown) =>
  ({ status, ok: status >= 200 && status < 300, json: async () => body }) as Response;

describe("previewKind", () => {
  it("shows images as thumbnails, texts as text and other data not at all", () => {
    expect(previewKind("image")).toBe("image");
    expect(previewKind("text")).toBe("text");
    expect(previewKind("tabular")).toBe("none");
  });
  it("takes an unknown dataset for images, as before modality was sent", () => {
    expect(previewKind(undefined)).toBe("image");
    expect(previewKind(null)).toBe("image");
  });
});

describe("datasetByKey", () => {
  const datasets = [
    datasetInfo({ id: "d1", name: "reviews", modality: "text" }),
    datasetInfo({ id: "reviews", name: "other", modality: "image" }),
  ];
  it("finds a dataset by the name the metric groups use, or by its id", () => {
    expect(datasetByKey(datasets, "d1")?.modality).toBe("text");
    expect(datasetByKey(datasets.slice(0, 1), "reviews")?.modality).toBe("text");
  });
  it("prefers an id over a name and finds nothing for no key", () => {
    expect(datasetByKey(datasets, "reviews")?.id).toBe("reviews");
    expect(datasetByKey(datasets, null)).toBeUndefined();
    expect(datasetByKey(datasets, "nope")).toBeUndefined();
  });
});

describe("instance texts", () => {
  it("addresses an instance by its dataset's id or name", () => {
    expect(instanceUrl("imdb test", 7)).toBe("api/datasets/imdb%20test/instances/7");
  });
  it("reads the text of an InstanceText answer and refuses anything else", () => {
    expect(textOf({ dataset: "d", instance: 1, text: "bad <b>film</b>" })).toBe("bad <b>film</b>");
    expect(textOf({ dataset: "d", instance: 1, text: "" })).toBe("");
    expect(() => textOf(null)).toThrow(/no text/);
    expect(() => textOf({ text: 3 })).toThrow(/no text/);
  });
  it("fetches each text once", async () => {
    const get = vi.fn(async () => answer(200, { dataset: "d", instance: 4, text: "good film" }));
    expect(await loadInstanceText("once", 4, get)).toBe("good film");
    expect(await loadInstanceText("once", 4, get)).toBe("good film");
    expect(get).toHaveBeenCalledTimes(1);
    expect(get).toHaveBeenCalledWith("api/datasets/once/instances/4");
  });
  it("names the server's error and tries again next time", async () => {
    const replies = [answer(404, { detail: "instance 9 is outside 0..2" }), answer(200, { text: "late" })];
    const get = vi.fn(async () => replies.shift()!);
    await expect(loadInstanceText("retry", 9, get)).rejects.toEqual(new ApiError(404, "instance 9 is outside 0..2"));
    expect(await loadInstanceText("retry", 9, get)).toBe("late");
    expect(get).toHaveBeenCalledTimes(2);
  });
});
