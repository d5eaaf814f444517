import path from "node:path";
import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: {
    alias: [
      { find: /^imspec$/, replacement: path.resolve(import.meta.dirname, "src/index.ts") },
      {
        find: /^#default-transport$/,
        replacement: path.resolve(import.meta.dirname, "src/core/node-transport.ts"),
      },
      {
        // Every name an API may have (scripts/lib/registry.ts): letters, digits, "-" and "_".
        find: /^imspec\/([a-z0-9][a-z0-9_-]*)$/,
        replacement: path.resolve(import.meta.dirname, "src/$1/index.ts"),
      },
    ],
  },
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    typecheck: { enabled: true, include: ["test/**/*.test-d.ts"], tsconfig: "./tsconfig.json" },
  },
});
