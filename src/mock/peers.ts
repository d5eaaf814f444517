/**
 * The mock's optional peer dependencies, loaded on first use: `imspec mock --help` and the clients
 * work without them, and a mock started without them says what to install.
 */
import type { Ajv2020 } from "ajv/dist/2020.js";
import type { OpenAPIBackend } from "openapi-backend";

export const PEERS = ["ajv", "ajv-formats", "openapi-backend"] as const;
/** The range of openapi-backend that installs on every supported Node (5.21 needs Node 22.19). */
const INSTALL = `npm install --save-dev ajv ajv-formats "openapi-backend@>=5.20.1 <5.21.0"`;

export interface Peers {
  Ajv2020: typeof Ajv2020;
  addFormats: (ajv: Ajv2020) => unknown;
  OpenAPIBackend: typeof OpenAPIBackend;
}

let loading: Promise<Peers> | undefined;

function missing(error: unknown): Error {
  const code = (error as NodeJS.ErrnoException)?.code;
  if (code !== "ERR_MODULE_NOT_FOUND" && code !== "MODULE_NOT_FOUND") return error as Error;
  const which = /['"]([^'"]+)['"]/.exec((error as Error).message)?.[1] ?? "a peer dependency";
  return new Error(
    `the mock server needs the optional peer dependencies ${PEERS.join(", ")} (${which} is not installed): ${INSTALL}`,
    { cause: error },
  );
}

/** Loads ajv, ajv-formats and openapi-backend once; rejects with the install command when one is missing. */
export function loadPeers(): Promise<Peers> {
  loading ??= (async () => {
    try {
      const [ajv, formats, backend] = await Promise.all([
        import("ajv/dist/2020.js"),
        import("ajv-formats"),
        import("openapi-backend"),
      ]);
      // CommonJS modules seen from ES modules: the export may sit on `default` once or twice.
      const named = <T>(m: unknown, name: string): T => {
        let current = m as Record<string, unknown> | undefined;
        for (let i = 0; i < 3 && current && !(name in current); i++)
          current = current.default as Record<string, unknown> | undefined;
        return current?.[name] as T;
      };
      const plugin = (formats as { default: unknown }).default;
      const addFormats = typeof plugin === "function" ? plugin : (plugin as { default: unknown }).default;
      return {
        Ajv2020: named<typeof Ajv2020>(ajv, "Ajv2020"),
        addFormats: addFormats as Peers["addFormats"],
        OpenAPIBackend: named<typeof OpenAPIBackend>(backend, "OpenAPIBackend"),
      };
    } catch (error) {
      loading = undefined;
      throw missing(error);
    }
  })();
  return loading;
}
