/**
 * What a user ships and installs.
 *
 * - The package as built by `buildDist` (`scripts/dist.ts`, as `npm run dist`; bench/run.ts builds it
 *   first, for the clients and for this), packed as `npm publish` would, with
 *   its runtime dependencies packed from node_modules, and installed offline into a temporary folder.
 * - Bundle: esbuild (bundle, minify, ESM) of a one-call consumer in that folder, gzipped at level 9.
 *   imspec is imported as users import it (`imspec/dingtalk`, through the package's `exports`); with
 *   platform browser, `#default-transport` resolves through the package's `imports` to the fetch
 *   transport (the fetch path), with platform node to node:http. Against bare openapi-fetch and the
 *   official SDK's contact module.
 * - Install: every file's size under each package folder of the installed closure, and the number of
 *   packages; the official SDK's closure measured the same way in node_modules.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { build, type Platform } from "esbuild";
import { installConsumer, pack } from "../test/package/consumer-project.js";
import { ROOT } from "../test/support/repo-copy.js";

export interface BundleRow {
  id: string;
  label: string;
  minified: number;
  gzipped: number;
}

export interface InstallRow {
  id: string;
  label: string;
  bytes: number;
  packages: number;
  names: string[];
}

export interface SizeResult {
  bundles: BundleRow[];
  install: InstallRow[];
}

const SENIOR_STAFF_ID = JSON.stringify("013349365367-1094322561");
const IMSPEC_CONSUMER = `import { createDingTalk } from "imspec/dingtalk";
const dt = createDingTalk({ appKey: globalThis.KEY ?? "", appSecret: globalThis.SECRET ?? "" });
console.log(await dt.contact.listSeniorSettings({ seniorStaffId: ${SENIOR_STAFF_ID} }));
`;

const CONSUMERS: Array<{ id: string; label: string; platform: Platform; source: string }> = [
  {
    id: "imspec",
    label: "imspec createDingTalk, fetch path (platform browser)",
    platform: "browser",
    source: IMSPEC_CONSUMER,
  },
  {
    id: "imspec-node",
    label: "imspec createDingTalk, node:http (platform node)",
    platform: "node",
    source: IMSPEC_CONSUMER,
  },
  {
    id: "openapi-fetch",
    label: "bare openapi-fetch (platform browser)",
    platform: "browser",
    source: `import createClient from "openapi-fetch";
const client = createClient({ baseUrl: "https://api.dingtalk.com" });
console.log(await client.GET("/v1.0/contact/seniorSettings", {
  params: { query: { seniorStaffId: ${SENIOR_STAFF_ID} } },
  headers: { "x-acs-dingtalk-access-token": globalThis.TOKEN ?? "" },
}));
`,
  },
  {
    id: "official-sdk",
    label: "@alicloud/dingtalk contact_1_0 (platform node)",
    platform: "node",
    source: `import contact from "@alicloud/dingtalk/contact_1_0";
import { Config } from "@alicloud/openapi-client";
import { RuntimeOptions } from "@alicloud/tea-util";
const client = new contact.default(new Config({ protocol: "https", regionId: "central" }));
console.log(await client.listSeniorSettingsWithOptions(
  new contact.ListSeniorSettingsRequest({ seniorStaffId: ${SENIOR_STAFF_ID} }),
  new contact.ListSeniorSettingsHeaders({ xAcsDingtalkAccessToken: globalThis.TOKEN ?? "" }),
  new RuntimeOptions({}),
));
`,
  },
];

/** Each consumer bundled from the installed project (the official SDK from the repository's node_modules). */
async function bundles(consumer: string): Promise<BundleRow[]> {
  const rows: BundleRow[] = [];
  for (const c of CONSUMERS) {
    const result = await build({
      stdin: { contents: c.source, resolveDir: consumer, sourcefile: `${c.id}.mjs`, loader: "js" },
      bundle: true,
      minify: true,
      format: "esm",
      platform: c.platform,
      target: c.platform === "node" ? "node20" : "es2022",
      write: false,
      logLevel: "silent",
      nodePaths: [path.join(ROOT, "node_modules")],
    });
    const code = result.outputFiles[0]?.contents ?? new Uint8Array();
    rows.push({
      id: c.id,
      label: c.label,
      minified: code.byteLength,
      gzipped: gzipSync(code, { level: 9 }).byteLength,
    });
  }
  return rows;
}

/** `npm run dist`: the package is measured as it would be published from this tree. */
export function buildDist(): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(
      path.join(ROOT, "node_modules/.bin/tsx"),
      ["scripts/dist.ts"],
      { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 },
      (error, _stdout, stderr) =>
        error ? reject(new Error(`scripts/dist.ts failed\n${stderr}`)) : resolve(),
    );
  });
}

function folderBytes(dir: string, skipNodeModules: boolean): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isSymbolicLink()) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (skipNodeModules && entry.name === "node_modules") continue;
      total += folderBytes(full, skipNodeModules);
    } else if (entry.isFile()) total += statSync(full).size;
  }
  return total;
}

function packageFolder(name: string, from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, "node_modules", name);
    if (existsSync(path.join(candidate, "package.json"))) return candidate;
    if (path.dirname(dir) === dir) throw new Error(`${name} is not installed under ${from}`);
  }
}

/** The dependency closure of `names` as Node would load it from `from`: bytes and package count. */
function closure(names: string[], from: string): { bytes: number; packages: string[] } {
  const seen = new Map<string, string>();
  const queue = names.map((name) => ({ name, from }));
  while (queue.length > 0) {
    const next = queue.shift();
    if (!next) break;
    const folder = packageFolder(next.name, next.from);
    if (seen.has(folder)) continue;
    const manifest = JSON.parse(readFileSync(path.join(folder, "package.json"), "utf8")) as {
      name: string;
      version: string;
      dependencies?: Record<string, string>;
    };
    seen.set(folder, `${manifest.name}@${manifest.version}`);
    for (const dependency of Object.keys(manifest.dependencies ?? {}))
      queue.push({ name: dependency, from: folder });
  }
  let bytes = 0;
  for (const folder of seen.keys()) bytes += folderBytes(folder, true);
  return { bytes, packages: [...seen.values()].sort() };
}

function install(consumer: string): InstallRow[] {
  const imspec = closure(["imspec"], consumer);
  const runtime = closure(
    Object.keys(
      (JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as { dependencies?: object })
        .dependencies ?? {},
    ),
    path.join(consumer, "node_modules/imspec"),
  );
  const official = closure(["@alicloud/dingtalk"], ROOT);
  return [
    {
      id: "imspec",
      label: "imspec + runtime dependencies",
      bytes: imspec.bytes,
      packages: imspec.packages.length,
      names: imspec.packages,
    },
    {
      id: "imspec-deps",
      label: "imspec's runtime dependencies alone",
      bytes: runtime.bytes,
      packages: runtime.packages.length,
      names: runtime.packages,
    },
    {
      id: "official-sdk",
      label: "@alicloud/dingtalk + dependencies",
      bytes: official.bytes,
      packages: official.packages.length,
      names: official.packages,
    },
  ];
}

/** Sizes of the package in dist/ (built by the caller: `buildDist`). */
export async function size(): Promise<SizeResult> {
  const dir = mkdtempSync(path.join(tmpdir(), "imspec-size-"));
  try {
    const packed = await pack(dir);
    const consumer = path.join(dir, "consumer");
    await installConsumer(consumer, packed.tarball);
    return { bundles: await bundles(consumer), install: install(consumer) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
