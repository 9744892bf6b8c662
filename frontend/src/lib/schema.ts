/** The API's answer types, generated from its OpenAPI schema (api-types.ts, written only by
 * `make api-types`), and the one way the front end narrows a field the server types loosely. */
import type { components } from "./api-types";

/** Every response model of the API by its pydantic class name. */
export type Schemas = components["schemas"];

/** `T` with the fields of `R` in place of its own: a documented local refinement of a generated
 * answer whose pydantic model types a field as `dict[str, Any]` (or leaves it to `extra`).
 * Unlike `Omit<T, K> & R` it keeps T's other fields when T also has an index signature. */
export type Refine<T, R> = { [K in keyof T as K extends keyof R ? never : K]: T[K] } & R;
