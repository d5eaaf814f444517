import path from "node:path";
import { bundle } from "@redocly/openapi-core";
import { pointerKeys, pointerOf } from "../lib/pointer.js";
import { problemsError, SpecError, toSpecError } from "../lib/problems.js";
import { type ApiEntry, ROOT } from "../lib/registry.js";

export interface Bundled {
  /** The single-file document, external `$ref`s pulled into components. */
  document: Record<string, unknown>;
  /** Every spec file the document was read from, relative to the repository root, sorted. */
  files: string[];
}

/** Step `bundle`: resolves every `$ref` of the API's spec files into one document. Writes nothing. */
export async function bundleStep(api: ApiEntry): Promise<Bundled> {
  const result = await bundle({
    ref: path.join(ROOT, api.root),
    config: api.config,
    dereference: false,
  }).catch((error: unknown) => {
    throw toSpecError(error, api.root);
  });
  const errors = result.problems.filter((p) => p.severity === "error");
  if (errors.length) throw problemsError(`bundle ${api.root}`, errors);
  const document = result.bundle.parsed as Record<string, unknown> | undefined;
  if (!document || typeof document !== "object") throw new SpecError(`${api.root}: the spec is empty`);
  const files = [...result.fileDependencies, path.join(ROOT, api.root)].map((f) => path.relative(ROOT, f));
  return { document: unescapedPointers(document), files: [...new Set(files)].sort() };
}

/**
 * The document with each local `$ref` written without percent escapes (`#/paths/~1a~1{id}`, not
 * `~1a~1%7Bid%7D`): the same pointer, read as preflight and Redocly read it (each segment decoded,
 * so `%2F` is a `/` in a key, written `~1`), in the one form every reader of the bundle resolves:
 * the mock's resolver reads a pointer as it is written.
 */
function unescapedPointers(document: Record<string, unknown>): Record<string, unknown> {
  const stack: unknown[] = [document];
  while (stack.length > 0) {
    const node = stack.pop();
    if (!node || typeof node !== "object") continue;
    const ref = (node as { $ref?: unknown }).$ref;
    if (typeof ref === "string" && ref.startsWith("#") && ref.includes("%")) {
      // Preflight has refused a % that starts no escape: each one here decodes. A key with a % or #
      // of its own is written only with an escape: that pointer stays as it is.
      const keys = pointerKeys(ref.slice(1));
      if (!keys.some((k) => /[%#]/.test(k))) (node as { $ref: string }).$ref = `#${pointerOf(keys)}`;
    }
    stack.push(...Object.values(node));
  }
  return document;
}
