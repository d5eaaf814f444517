import { execFile } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { expect, it } from "vitest";

const ROOT = path.resolve(import.meta.dirname, "..");

/** The README's TypeScript examples compile against the real entry points (`imspec/…`). */
it("type-checks every TypeScript example in the README", async () => {
  const readme = readFileSync(path.join(ROOT, "README.md"), "utf8");
  const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] as string);
  expect(blocks.length).toBeGreaterThanOrEqual(2);
  const dir = path.join(ROOT, "test-output", "readme");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const files = blocks.map((code, i) => {
    const file = path.join(dir, `example-${i + 1}.ts`);
    writeFileSync(file, `${code}\nexport {};\n`);
    return file;
  });
  writeFileSync(
    path.join(dir, "tsconfig.json"),
    JSON.stringify({ extends: "../../tsconfig.json", include: files }),
  );
  const tsc = path.join(ROOT, "node_modules/typescript/bin/tsc");
  const run = promisify(execFile)(process.execPath, [tsc, "-p", dir, "--noEmit"], { cwd: ROOT }).catch(
    (e: { stdout?: string }) => {
      throw new Error(`README examples do not compile:\n${e.stdout}`);
    },
  );
  await expect(run).resolves.toBeDefined();
});
