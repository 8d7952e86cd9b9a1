import react from '@vitejs/plugin-react';
import { defineConfig } from 'vitest/config';

// The build is served by `reporting-admin serve` at `/` on the API's origin; in
// development the Vite server forwards `/api` to a locally running API.
export default defineConfig({
  plugins: [react()],
  build: {
    outDir: '../reporting_assets/api/static',
    emptyOutDir: true,
    assetsDir: 'assets',
  },
  server: {
    proxy: { '/api': 'http://127.0.0.1:8000' },
  },
  test: {
    environment: 'jsdom',
    setupFiles: ['./src/test/setup.ts'],
    restoreMocks: true,
    unstubGlobals: true,
    pool: 'threads',
    maxWorkers: 2,
    // Two shared cores: the first test of a file also waits for its lazily loaded page.
    testTimeout: 15_000,
  },
});
