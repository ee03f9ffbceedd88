// Builds the web console into dist/console: one bundled, minified script and stylesheet plus index.html.
// esbuild (already in the tree through vite and tsx) bundles uPlot in, so the console needs no CDN.
import { copyFileSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const root = new URL('../', import.meta.url);
const out = new URL('dist/console/', root);
mkdirSync(out, { recursive: true });
await build({
  entryPoints: { app: new URL('web/src/main.ts', root).pathname },
  outdir: out.pathname,
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['es2022', 'chrome110', 'firefox110', 'safari16'],
  legalComments: 'none',
  logLevel: 'warning',
});
for (const f of ['index.html', 'favicon.svg']) copyFileSync(new URL(`web/${f}`, root), new URL(f, out));
if (process.argv.includes('--sizes')) {
  for (const f of ['index.html', 'app.js', 'app.css']) {
    const path = new URL(f, out);
    const gz = gzipSync(readFileSync(path)).length;
    console.log(`${f}: ${statSync(path).size} B, ${gz} B gzipped`);
  }
}
