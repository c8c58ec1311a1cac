#!/usr/bin/env node
// Runs the CLI from its cached bundle (platform/module-bundle.mjs: plain JavaScript made by esbuild
// from the TypeScript sources, remade when one of them changes), no build step needed. When no
// bundle can be made, or TOTESYS_CLI_BUNDLE=0, tsx registers its ESM loader and the TypeScript runs
// as it is (about 1 s more per start).
import { cachedBundle } from '../platform/module-bundle.mjs';

// The AWS SDK warns on every start under Node 20 that its 2027 releases will need Node 22; the
// README says so once. Set the variable to "false" to see it again.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const main = new URL('../cli/main.ts', import.meta.url);
const bundle = process.env.TOTESYS_CLI_BUNDLE === '0' ? null : await cachedBundle(main);
if (bundle) {
  // Stack traces name the TypeScript sources, as under tsx.
  process.setSourceMapsEnabled(true);
  await import(bundle.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(main.href);
}
