/**
 * What a user ships and installs.
 *
 * - Bundle: esbuild (bundle, minify, ESM, platform node) of a one-call consumer, gzipped at level 9:
 *   imspec's createDingTalk, bare openapi-fetch, and the official SDK's contact module.
 * - Install: imspec packed as `npm publish` would (dist/ as built), with its runtime dependencies
 *   packed from node_modules, installed offline into a temporary folder; against the official SDK's
 *   dependency closure as installed in node_modules. Both measured the same way: every file's size
 *   under each package folder of the closure, and the number of packages.
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
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

const CONSUMERS: Array<{ id: string; label: string; source: string }> = [
  {
    id: "imspec",
    label: "imspec createDingTalk",
    source: `import { createDingTalk } from ${JSON.stringify(path.join(ROOT, "src/dingtalk/index.ts"))};
const dt = createDingTalk({ appKey: process.env.KEY ?? "", appSecret: process.env.SECRET ?? "" });
console.log(await dt.contact.listSeniorSettings({ seniorStaffId: "013349365367-1094322561" }));
`,
  },
  {
    id: "openapi-fetch",
    label: "bare openapi-fetch",
    source: `import createClient from "openapi-fetch";
const client = createClient({ baseUrl: "https://api.dingtalk.com" });
console.log(await client.GET("/v1.0/contact/seniorSettings", {
  params: { query: { seniorStaffId: "013349365367-1094322561" } },
  headers: { "x-acs-dingtalk-access-token": process.env.TOKEN ?? "" },
}));
`,
  },
  {
    id: "official-sdk",
    label: "@alicloud/dingtalk contact_1_0",
    source: `import contact from "@alicloud/dingtalk/contact_1_0";
import { Config } from "@alicloud/openapi-client";
import { RuntimeOptions } from "@alicloud/tea-util";
const client = new contact.default(new Config({ protocol: "https", regionId: "central" }));
console.log(await client.listSeniorSettingsWithOptions(
  new contact.ListSeniorSettingsRequest({ seniorStaffId: "013349365367-1094322561" }),
  new contact.ListSeniorSettingsHeaders({ xAcsDingtalkAccessToken: process.env.TOKEN ?? "" }),
  new RuntimeOptions({}),
));
`,
  },
];

async function bundles(dir: string): Promise<BundleRow[]> {
  const rows: BundleRow[] = [];
  for (const consumer of CONSUMERS) {
    const entry = path.join(dir, `${consumer.id}.mjs`);
    writeFileSync(entry, consumer.source);
    const result = await build({
      entryPoints: [entry],
      bundle: true,
      minify: true,
      format: "esm",
      platform: "node",
      target: "node20",
      write: false,
      logLevel: "silent",
      nodePaths: [path.join(ROOT, "node_modules")],
    });
    const code = result.outputFiles[0]?.contents ?? new Uint8Array();
    rows.push({
      id: consumer.id,
      label: consumer.label,
      minified: code.byteLength,
      gzipped: gzipSync(code, { level: 9 }).byteLength,
    });
  }
  return rows;
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

async function install(dir: string): Promise<InstallRow[]> {
  const packed = await pack(dir);
  const consumer = path.join(dir, "consumer");
  await installConsumer(consumer, packed.tarball);
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

export async function size(): Promise<SizeResult> {
  const dir = mkdtempSync(path.join(tmpdir(), "imspec-size-"));
  try {
    mkdirSync(dir, { recursive: true });
    return { bundles: await bundles(dir), install: await install(dir) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
