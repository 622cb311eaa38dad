#!/usr/bin/env node
// The installed `dynab` command (package.json "bin"): registers tsx's loader so that Node runs
// the TypeScript entry point as it is, then hands over to it.
import { register } from 'tsx/esm/api';

register();
await import('./dynab.ts');
