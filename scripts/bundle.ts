/**
 * The second half of `npm run build`: bundles the two long-running runners, `dist/server.js` and
 * `dist/stream.js`, over tsc's output of the same names, with the code they share in `dist/chunks/`.
 * The rest of `dist/` (score.js, the Lambda handler) stays tsc's.
 *
 * why: a process spent most of its start resolving, reading and compiling ≈ 500 files one by one;
 * one file per chunk starts a process 13–22 % sooner (docs/performance.md, "Start-up").
 * Lazily imported parts (the service itself, monitoring's hub, tracing) stay separate chunks, so the
 * cluster primary still loads none of them before it forks.
 *
 * Kept out of the bundle, loaded from node_modules as before:
 * - onnxruntime-node: a native addon;
 * - pino (its transports, pino-pretty's included, start worker threads from its own files) and ioredis (its error path):
 *   both find files next to their own code through `__dirname`, which a bundle cannot give them;
 * - iconv-lite (Express loads it through body-parser and raw-body, whose parsers the service does not use:
 *   src/http/json-body.ts reads the bodies): 540 KB of code pages that it loads only to decode a charset
 *   other than UTF-8; bundled, V8 parsed all of them at every start, ≈ 20 ms of a worker's CPU
 *   (docs/performance.md, "Start-up").
 * The check after the build refuses a bundle that still names `__dirname` or `__filename`.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const OUT_DIR = 'dist';
/** The packages the runners load from node_modules (tests/service/dockerfile.system.test.ts holds the bundle to this). */
export const EXTERNAL = ['onnxruntime-node', 'pino', 'ioredis', 'iconv-lite'];

async function bundle(): Promise<void> {
  // why: chunk names carry a hash, so the last build's would pile up.
  rmSync(join(OUT_DIR, 'chunks'), { recursive: true, force: true });
  const result = await build({
    entryPoints: { server: 'src/server.ts', stream: 'src/stream.ts' },
    outdir: OUT_DIR,
    chunkNames: 'chunks/[name]-[hash]',
    bundle: true,
    splitting: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: true,
    external: EXTERNAL,
    // why: the CommonJS packages inside (express, prom-client…) call require() for node's modules.
    banner: { js: "import { createRequire as __bundleRequire } from 'node:module'; const require = __bundleRequire(import.meta.url);" },
    metafile: true,
    logLevel: 'warning',
  });

  const scripts = Object.entries(result.metafile.outputs).filter(([file]) => file.endsWith('.js'));
  const unresolvable = scripts.map(([file]) => file).filter((file) => /\b__(dirname|filename)\b/.test(readFileSync(file, 'utf8')));
  if (unresolvable.length > 0) {
    console.error(
      `bundle: ${unresolvable.join(', ')} use __dirname or __filename, which an ES module bundle does not define; add their package to EXTERNAL in scripts/bundle.ts`,
    );
    process.exit(1);
  }
  // why: `import { z } from 'zod'` makes esbuild keep zod's namespace whole, its 60 locales included
  // (≈ 360 KB, ≈ 50 ms of every process's start); `import * as z from 'zod'` lets it drop what is unused.
  const locales = scripts
    .flatMap(([, output]) => Object.entries(output.inputs))
    .filter(([input, { bytesInOutput }]) => input.includes('zod/v4/locales/') && !input.endsWith('/en.js') && bytesInOutput > 0);
  if (locales.length > 0) {
    console.error(`bundle: ${locales.length} of zod's locales are in the bundle; import zod as \`import * as z from 'zod'\``);
    process.exit(1);
  }
  // why kept: what each output imports from outside the bundle, for tests and for esbuild's analyzer.
  writeFileSync(join(OUT_DIR, 'bundle-meta.json'), JSON.stringify(result.metafile));
  const bytes = scripts.reduce((sum, [, output]) => sum + output.bytes, 0);
  console.log(
    `bundle: ${join(OUT_DIR, 'server.js')} and ${join(OUT_DIR, 'stream.js')}, ${(bytes / 1e6).toFixed(1)} MB of JavaScript in ${scripts.length} files`,
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) await bundle();
