#!/usr/bin/env node
// Skiff's command-line entry point. The sources are TypeScript, run through tsx's loader so that
// `npm start` and `npx skiff` need no build step.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
