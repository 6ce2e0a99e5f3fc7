// Builds the UI bundles of the desktop app (docs/design.md, UI build):
//   npx vite build                 → dist/renderer/ (React UI; served by Electron's app:// and the headless dashboard)
//   npx vite build --mode preload  → dist/preload/index.cjs (the contextBridge; one CommonJS file, as sandboxed preloads require)
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig(({ mode }) => {
  if (mode === 'preload') {
    return {
      root,
      publicDir: false,
      build: {
        outDir: 'dist/preload',
        emptyOutDir: true,
        target: 'chrome130',
        minify: false,
        sourcemap: false,
        lib: { entry: 'preload/index.ts', formats: ['cjs'], fileName: () => 'index.cjs' },
        rolldownOptions: { external: ['electron'] },
      },
    };
  }
  return {
    root: `${root}renderer`,
    base: '/',
    plugins: [react()],
    server: { host: '127.0.0.1', strictPort: false },
    build: {
      outDir: `${root}dist/renderer`,
      emptyOutDir: true,
      target: 'chrome130',
      sourcemap: false,
      // No inline scripts or styles: the CSP allows only files from this origin.
      assetsInlineLimit: 0,
      modulePreload: { polyfill: false },
    },
  };
});
