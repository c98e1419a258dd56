#!/usr/bin/env node
// The etok command. The compiled CLI lives in dist/ (built by `npm install` / `npm run build`).
import { main } from '../dist/cli.js';

process.exitCode = await main(process.argv.slice(2));
