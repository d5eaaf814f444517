import path from "node:path";
import { bundle } from "@redocly/openapi-core";
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
  return { document, files: [...new Set(files)].sort() };
}
