#!/usr/bin/env node
// Entry point of the `townlet` command: loads the TypeScript CLI through tsx.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../tools/cli.ts");
process.exitCode = await main(process.argv.slice(2));
