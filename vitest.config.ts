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
        find: /^imspec\/([a-z]+)$/,
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
