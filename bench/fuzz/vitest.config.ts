// Config for the real-process fuzz bench (not part of CI: its figures go in docs/RELIABILITY.md).
//   npm run build && npx vitest run --config bench/fuzz/vitest.config.ts
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['bench/fuzz/**/*.fuzz.ts'],
    testTimeout: 900_000,
    hookTimeout: 120_000,
    fileParallelism: false,
  },
});
