// Tests that need the native addon. Where none was built (a machine without a C++ compiler: npm install
// then prints one line and gradpool runs the WebAssembly kernels) they skip, saying why in their title;
// with GRADPOOL_REQUIRE_NATIVE=1 (CI: .ci/run sets it) they run and fail instead. An addon that was
// found but refused (built from other sources, or it does not load) never skips them: that is the
// failure a test must show, not hide.
import test from 'ava';
import { nativeAddonMissing, nativeUnavailableReason } from '../../src/math/native-kernels.js';

/** '' where the native tests run, else " (skipped: …)" for their titles. */
export const nativeSkipNote = nativeAddonMissing() && process.env.GRADPOOL_REQUIRE_NATIVE !== '1' ? ` (skipped: no native addon: ${nativeUnavailableReason()}; GRADPOOL_REQUIRE_NATIVE=1 makes this a failure)` : '';

/** `test` where the native tests run, else `test.skip` (their titles end with nativeSkipNote). */
export const nativeTest = nativeSkipNote ? test.skip : test;
