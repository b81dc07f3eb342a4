// Config for the soak bench (not part of CI: its figures go in docs/RELIABILITY.md).
//   npm run build && SOAK_S=600 npx vitest run --config bench/soak/vitest.config.ts
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['bench/soak/**/*.soak.ts'],
    testTimeout: 3_600_000,
    hookTimeout: 120_000,
    fileParallelism: false,
  },
});
