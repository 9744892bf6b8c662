/** The analysis views, described by their components' module exports (no central switch).

Each view's component (src/views/<view>/, listed in views.ts) exports
`view = { id, label, order }` from its module script; the tab order and id checks live here.
*/

export interface ViewMeta {
  id: string;
  label: string;
  order: number;
}

export interface ViewEntry<C> extends ViewMeta {
  component: C;
  file: string;
}

const VIEW_ID = /^[a-z][a-z0-9-]*$/;

/** Views from `import.meta.glob` modules, in tab order; a module without `view` is skipped. */
export function registeredViews<C>(modules: Record<string, { default: C; view?: ViewMeta }>): ViewEntry<C>[] {
  const out: ViewEntry<C>[] = [];
  const seen = new Map<string, string>();
  for (const [file, mod] of Object.entries(modules)) {
    const meta = mod.view;
    if (!meta) continue;
    if (!VIEW_ID.test(meta.id)) throw new Error(`${file}: view id ${JSON.stringify(meta.id)} is not lower-case-with-dashes`);
    const other = seen.get(meta.id);
    if (other) throw new Error(`view id "${meta.id}" is declared by both ${other} and ${file}`);
    seen.set(meta.id, file);
    out.push({ ...meta, component: mod.default, file });
  }
  return out.sort((a, b) => a.order - b.order || a.id.localeCompare(b.id));
}

/** The view to show for a URL's `view`: itself when registered, else the fallback, else the first. */
export function pickView<C>(views: ViewEntry<C>[], id: string, fallback: string): ViewEntry<C> | undefined {
  return views.find((v) => v.id === id) ?? views.find((v) => v.id === fallback) ?? views[0];
}
