// The hash of the native sources, the one thing that ties an addon to the sources it was built from.
// Every build compiles it into the addon (binding.gyp runs this file as a script, prebuild.mjs passes
// it to the compiler), the addon exports it as `sourceHash`, and src/math/native-kernels.ts refuses
// an addon whose hash differs from that of the sources beside it: a stale build never runs silently.
//   node source-hash.cjs    prints the hash of the sources in this folder (binding.gyp's define)
// CommonJS, so that the loader reads it synchronously (require) without an ES module in a require()d
// graph; the build scripts import it. It imports nothing of ours: it runs before anything is compiled.
'use strict';
const { createHash } = require('node:crypto');
const { readFileSync } = require('node:fs');
const { join } = require('node:path');

/**
 * What determines the binary besides the compiler: the C++ sources, and the source build's
 * description, whose flags change its bits. prebuild.mjs is left out: its flags mirror binding.gyp's,
 * and every npm pack builds the prebuilds afresh.
 */
const NATIVE_SOURCES = ['kernels.h', 'kernels.cc', 'binding.cc', 'glibc-compat.h', 'binding.gyp'];

/**
 * 16 hex digits of SHA-256 over the sources in `dir` (default: this folder), each as its name and its
 * text with CRLF read as LF, so that a checkout with Windows line endings builds the same hash.
 * Throws when a source cannot be read.
 */
function sourceHash(dir = __dirname) {
  const hash = createHash('sha256');
  for (const name of NATIVE_SOURCES) hash.update(`${name}\0${readFileSync(join(dir, name), 'utf8').replaceAll('\r\n', '\n')}\0`);
  return hash.digest('hex').slice(0, 16);
}

module.exports = { NATIVE_SOURCES, sourceHash };

if (require.main === module) process.stdout.write(sourceHash());
