import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // Only JS-side tests; as-pect specs live in assembly/__tests__ and run via `npm run test:as`.
    include: ["test/**/*.test.ts"],
    testTimeout: 120_000,
    pool: "forks",
  },
});
