/** Synthetic provenance for the differences tests: two seeds, pruning at several amounts, fine-tuning, int8. */
import { apiModel } from "../../lib/fixtures";
import type { ApiModel } from "../../lib/types";

function m(
  id: string,
  op: string | null,
  params: Record<string, unknown>,
  parents: { id: string; role?: string }[],
  seed: number | null,
  acc: number | null,
  bytes: number,
): ApiModel {
  const metrics: Record<string, Record<string, number>> = { model: { compressed_bytes: bytes } };
  if (acc !== null) metrics.ds = { accuracy: acc };
  return apiModel({ id, name: `${id}-name`, operation: op ? { name: op, params, parents, seed } : null, metrics });
}

const P = (amount: number, scope = "global") => ({ amount, scope, include: ["*"] });
const TRAIN = { epochs: 2, lr: 0.003 };

export const DETAILS: ApiModel[] = [
  m("s0", "train.scratch", TRAIN, [], 0, 0.9, 1000),
  m("s1", "train.scratch", TRAIN, [], 1, 0.88, 1000),
  m("s0p5", "prune.magnitude", P(0.5), [{ id: "s0", role: "input" }], 0, 0.89, 600),
  m("s0p8", "prune.magnitude", P(0.8), [{ id: "s0", role: "input" }], 0, 0.8, 300),
  m("s1p5", "prune.magnitude", P(0.5), [{ id: "s1", role: "input" }], 1, 0.87, 600),
  m("s1p8", "prune.magnitude", P(0.8), [{ id: "s1", role: "input" }], 1, 0.7, 300),
  m("s0p5l", "prune.magnitude", P(0.5, "local"), [{ id: "s0", role: "input" }], 0, 0.85, 600),
  m("s0p5ft", "train.finetune", { epochs: 1 }, [{ id: "s0p5", role: "input" }], 0, 0.895, 600),
  m("s0p5kd", "train.distill", { epochs: 1, temperature: 4 }, [{ id: "s0p5", role: "input" }, { id: "s0", role: "teacher" }], 0, 0.9, 600),
  m("s0q", "quantize.dynamic_int8", { backend: "torchao" }, [{ id: "s0", role: "input" }], 0, 0.899, 250),
  m("s0r", "prune.random", P(0.5, "local"), [{ id: "s0", role: "input" }], 0, null, 600),
  m("imported", null, {}, [], null, 0.5, 2000),
];

export const DETAILS_BY_ID = new Map(DETAILS.map((x) => [x.id, x]));

export function pick(...ids: string[]): ApiModel[] {
  return ids.map((id) => DETAILS_BY_ID.get(id)!);
}
