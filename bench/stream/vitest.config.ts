// Config for the stream-transport bench (not part of CI: its figures go in docs/STREAM.md).
//   npm run build && npx vitest run --config bench/stream/vitest.config.ts
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['bench/stream/**/*.bench-e2e.ts'],
    testTimeout: 900_000,
    hookTimeout: 120_000,
    fileParallelism: false,
  },
});
