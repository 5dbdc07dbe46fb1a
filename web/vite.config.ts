import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'

// The console: built into dist/web and served by Trove under /ui/ (src/http/routes/ui.ts).
// esbuild's automatic JSX runtime stands in for @vitejs/plugin-react (no fast refresh needed).
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/ui/',
  publicDir: 'public',
  esbuild: { jsx: 'automatic' },
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    // No inline polyfill script: the console's Content-Security-Policy allows only its own files.
    modulePreload: { polyfill: false },
    sourcemap: true,
    chunkSizeWarningLimit: 800,
  },
  server: {
    // `npx vite --config web/vite.config.ts` with a Trove on :8081 behind it.
    proxy: { '/api': 'http://127.0.0.1:8081', '/artifactory': 'http://127.0.0.1:8081', '/access': 'http://127.0.0.1:8081' },
  },
})
