#!/usr/bin/env node
// Runs the TypeScript CLI directly (no build step): tsx registers its ESM loader, then main runs.
import { register } from 'tsx/esm/api';

// The AWS SDK warns on every start under Node 20 that its 2027 releases will need Node 22; the
// README says so once. Set the variable to "false" to see it again.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
register();
await import('../cli/main.ts');
