#!/usr/bin/env node
// A native-solc lookalike over the pinned solc-js, so py-solc-x and slither can drive it offline.
// It answers `--version` and `--standard-json` (input on stdin); other flags are accepted and ignored.
"use strict";
const fs = require("fs");
const path = require("path");

const projectRoot = path.resolve(__dirname, "..");
const solc = require(path.join(projectRoot, "node_modules", "solc"));

const args = process.argv.slice(2);

if (args.includes("--version")) {
  // solc-js reports e.g. "0.8.30+commit.73712a01.Emscripten.clang"; native solc prints "Version: 0.8.30+commit.73712a01".
  const [release, build = ""] = solc.version().split("+");
  const commit = build.split(".").slice(0, 2).join(".");
  process.stdout.write(`solc, the solidity compiler commandline interface\nVersion: ${release}+${commit}\n`);
  process.exit(0);
}

if (!args.includes("--standard-json")) {
  process.stderr.write("solc-shim: only --version and --standard-json are supported\n");
  process.exit(2);
}

const searchRoots = [
  process.cwd(),
  projectRoot,
  path.join(projectRoot, "node_modules"),
];
for (let i = 0; i < args.length; i++) {
  if ((args[i] === "--base-path" || args[i] === "--include-path") && args[i + 1]) {
    searchRoots.push(path.resolve(args[i + 1]));
  }
}

function findImports(importPath) {
  for (const root of searchRoots) {
    const candidate = path.resolve(root, importPath);
    if (fs.existsSync(candidate)) {
      return { contents: fs.readFileSync(candidate, "utf8") };
    }
  }
  return { error: `File not found: ${importPath} (searched ${searchRoots.join(", ")})` };
}

const input = fs.readFileSync(0, "utf8");
process.stdout.write(solc.compile(input, { import: findImports }));
