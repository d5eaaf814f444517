import path from "node:path";
import { lint } from "@redocly/openapi-core";
import { preflight } from "../lib/preflight.js";
import { problemsError, toSpecError } from "../lib/problems.js";
import { type ApiEntry, ROOT } from "../lib/registry.js";

/**
 * Step `lint`: a preflight of the YAML and its `$ref`s (lib/preflight.ts), then Redocly lint with
 * the API's rules from redocly.yaml. Errors and warnings both stop the generator (the specs are
 * held to zero of either). Writes nothing.
 */
export async function lintStep(api: ApiEntry): Promise<void> {
  preflight(api.root);
  const problems = await lint({ ref: path.join(ROOT, api.root), config: api.config }).catch(
    (error: unknown) => {
      throw toSpecError(error, api.root);
    },
  );
  const relevant = problems.filter((p) => p.severity === "error" || p.severity === "warn");
  if (relevant.length) throw problemsError(`lint ${api.root}`, relevant);
}
