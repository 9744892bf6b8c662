/** Refine is checked by the type checker (`npm run check`), the runtime test only names it. */
import { describe, expectTypeOf, it } from "vitest";
import type { Refine, Schemas } from "./schema";

type Row = { instance: number };

describe("Refine", () => {
  it("replaces the named field and keeps the others of an answer with extra fields", () => {
    type Pies = Refine<Schemas["PiesAnswer"], { levels: Row[] }>;
    expectTypeOf<Pies["levels"]>().toEqualTypeOf<Row[]>();
    expectTypeOf<Pies["dataset"]>().toEqualTypeOf<string>();
    expectTypeOf<Pies["by"]>().toEqualTypeOf<string | null>();
  });
  it("keeps the others of an answer without extra fields", () => {
    type Page = Refine<Schemas["InstancePage"], { rows: Row[] }>;
    expectTypeOf<Page["rows"]>().toEqualTypeOf<Row[]>();
    expectTypeOf<Page["total"]>().toEqualTypeOf<number>();
    expectTypeOf<Page>().not.toHaveProperty("nonsense");
  });
});
