// WebAssembly SIMD (128-bit) versions of the kernels in src/math/kernels.ts, written in AssemblyScript.
// Compiled twice: dist/wasm/kernels.wasm (plain SIMD) and dist/wasm/kernels-relaxed.wasm (relaxed SIMD:
// the products' multiply-adds become f32x4.relaxed_madd); the loader picks the second where it validates.
//
// Calling convention: every array argument is a byte pointer into the one imported (shared) memory,
// i.e. the `byteOffset` of a Float32Array view over `memory.buffer`; sizes are element counts.
// Layouts are those of the reference (row-major): a [rows × inputs], w [outputs × inputs], b [outputs],
// z / dz / out / y [rows × outputs].
//
// Rules this module keeps, because several threads run it at once over one shared memory:
//   - no global mutable state and no allocation: every function works on its arguments only;
//   - it writes only inside the output ranges it is given (it may read up to, never past, the
//     last element of an input range: partial vectors are assembled lane by lane);
//   - no alignment is assumed beyond 4 bytes (wasm v128 loads/stores accept any address).
//
// Register blocking was chosen by measurement on V8 (x64, 16 xmm registers, of which ~15 are
// allocatable): blocks with 8 f32x4 accumulators (4×2 dot products for the forward product, 2×16
// axpy tiles for the backward products) run at 40–50 GFLOP/s; anything with ≥ 9 accumulators spills
// and halves the speed.

// ---------------------------------------------------------------------------------------------
// small helpers

/** [Σx, Σy, Σz, Σw]: four horizontal sums at once (3 adds, 6 shuffles). */
// @ts-ignore: decorator
@inline function hadd4(x: v128, y: v128, z: v128, w: v128): v128 {
  const p = f32x4.add(v128.shuffle<f32>(x, y, 0, 4, 1, 5), v128.shuffle<f32>(x, y, 2, 6, 3, 7));
  const q = f32x4.add(v128.shuffle<f32>(z, w, 0, 4, 1, 5), v128.shuffle<f32>(z, w, 2, 6, 3, 7));
  return f32x4.add(v128.shuffle<f32>(p, q, 0, 1, 4, 5), v128.shuffle<f32>(p, q, 2, 3, 6, 7));
}

/** The n (1..3) floats at p in the low lanes, zeros above: never reads past p + 4n. */
// @ts-ignore: decorator
@inline function loadTail(p: usize, n: usize): v128 {
  let v = v128.load32_zero(p);
  if (n > 1) v = f32x4.replace_lane(v, 1, load<f32>(p, 4));
  if (n > 2) v = f32x4.replace_lane(v, 2, load<f32>(p, 8));
  return v;
}

/** acc + x·y. Built twice (package.json build:wasm): with relaxed SIMD this is f32x4.relaxed_madd, which
 * V8 turns into a fused multiply-add where the CPU has one; without it, a multiply and an add. */
// @ts-ignore: decorator
@inline function madd(acc: v128, x: v128, y: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(x, y, acc);
  return f32x4.add(acc, f32x4.mul(x, y));
}

// ---------------------------------------------------------------------------------------------
// dense forward: z[r, o] = Σ_k a[r, k] · w[o, k] + b[o]
// Dot products of contiguous rows. Micro-kernel: 4 rows of a × 2 rows of w, 8 f32x4 accumulators;
// the last inputs % 4 elements go through one extra step with zero-padded vectors (0·0 adds nothing).
// Loop order: rows in chunks whose slice of a fits in ~256 KiB (L2), then pairs of w rows (which stay
// in L1 while the chunk's rows stream past them), then blocks of 4 rows.

// @ts-ignore: decorator
@inline function fwd4x2(zp: usize, a0: usize, w0: usize, bb: v128, ist: usize, ost: usize, kMain: usize, kTail: usize): void {
  const a1 = a0 + ist, a2 = a1 + ist, a3 = a2 + ist, w1 = w0 + ist;
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  for (let k: usize = 0; k < kMain; k += 16) {
    const x0 = v128.load(a0 + k), x1 = v128.load(a1 + k), x2 = v128.load(a2 + k), x3 = v128.load(a3 + k);
    const y0 = v128.load(w0 + k);
    c00 = madd(c00, x0, y0); c10 = madd(c10, x1, y0); c20 = madd(c20, x2, y0); c30 = madd(c30, x3, y0);
    const y1 = v128.load(w1 + k);
    c01 = madd(c01, x0, y1); c11 = madd(c11, x1, y1); c21 = madd(c21, x2, y1); c31 = madd(c31, x3, y1);
  }
  if (kTail) {
    const x0 = loadTail(a0 + kMain, kTail), x1 = loadTail(a1 + kMain, kTail);
    const x2 = loadTail(a2 + kMain, kTail), x3 = loadTail(a3 + kMain, kTail);
    const y0 = loadTail(w0 + kMain, kTail), y1 = loadTail(w1 + kMain, kTail);
    c00 = madd(c00, x0, y0); c10 = madd(c10, x1, y0); c20 = madd(c20, x2, y0); c30 = madd(c30, x3, y0);
    c01 = madd(c01, x0, y1); c11 = madd(c11, x1, y1); c21 = madd(c21, x2, y1); c31 = madd(c31, x3, y1);
  }
  // [z(r,o), z(r,o+1), z(r+1,o), z(r+1,o+1)]
  const s01 = f32x4.add(hadd4(c00, c01, c10, c11), bb);
  const s23 = f32x4.add(hadd4(c20, c21, c30, c31), bb);
  v128.store64_lane(zp, s01, 0);
  v128.store64_lane(zp + ost, s01, 1);
  v128.store64_lane(zp + 2 * ost, s23, 0);
  v128.store64_lane(zp + 3 * ost, s23, 1);
}

// @ts-ignore: decorator
@inline function fwd1x2(zp: usize, a0: usize, w0: usize, bb: v128, ist: usize, kMain: usize, kTail: usize): void {
  const w1 = w0 + ist;
  let c0 = f32x4.splat(0), c1 = f32x4.splat(0);
  for (let k: usize = 0; k < kMain; k += 16) {
    const x0 = v128.load(a0 + k);
    c0 = madd(c0, x0, v128.load(w0 + k));
    c1 = madd(c1, x0, v128.load(w1 + k));
  }
  if (kTail) {
    const x0 = loadTail(a0 + kMain, kTail);
    c0 = madd(c0, x0, loadTail(w0 + kMain, kTail));
    c1 = madd(c1, x0, loadTail(w1 + kMain, kTail));
  }
  v128.store64_lane(zp, f32x4.add(hadd4(c0, c1, c0, c1), bb), 0);
}

// @ts-ignore: decorator
@inline function fwd4x1(zp: usize, a0: usize, w0: usize, bb: v128, ist: usize, ost: usize, kMain: usize, kTail: usize): void {
  const a1 = a0 + ist, a2 = a1 + ist, a3 = a2 + ist;
  let c0 = f32x4.splat(0), c1 = f32x4.splat(0), c2 = f32x4.splat(0), c3 = f32x4.splat(0);
  for (let k: usize = 0; k < kMain; k += 16) {
    const y0 = v128.load(w0 + k);
    c0 = madd(c0, v128.load(a0 + k), y0);
    c1 = madd(c1, v128.load(a1 + k), y0);
    c2 = madd(c2, v128.load(a2 + k), y0);
    c3 = madd(c3, v128.load(a3 + k), y0);
  }
  if (kTail) {
    const y0 = loadTail(w0 + kMain, kTail);
    c0 = madd(c0, loadTail(a0 + kMain, kTail), y0);
    c1 = madd(c1, loadTail(a1 + kMain, kTail), y0);
    c2 = madd(c2, loadTail(a2 + kMain, kTail), y0);
    c3 = madd(c3, loadTail(a3 + kMain, kTail), y0);
  }
  const s = f32x4.add(hadd4(c0, c1, c2, c3), bb);
  v128.store32_lane(zp, s, 0);
  v128.store32_lane(zp + ost, s, 1);
  v128.store32_lane(zp + 2 * ost, s, 2);
  v128.store32_lane(zp + 3 * ost, s, 3);
}

// @ts-ignore: decorator
@inline function fwd1x1(zp: usize, a0: usize, w0: usize, bb: v128, kMain: usize, kTail: usize): void {
  // two accumulators over alternating vectors halve the add-latency chain
  let c0 = f32x4.splat(0), c1 = f32x4.splat(0);
  let k: usize = 0;
  for (; k + 32 <= kMain; k += 32) {
    c0 = madd(c0, v128.load(a0 + k), v128.load(w0 + k));
    c1 = madd(c1, v128.load(a0 + k, 16), v128.load(w0 + k, 16));
  }
  if (k < kMain) c0 = madd(c0, v128.load(a0 + k), v128.load(w0 + k));
  if (kTail) c1 = madd(c1, loadTail(a0 + kMain, kTail), loadTail(w0 + kMain, kTail));
  const c = f32x4.add(c0, c1);
  v128.store32_lane(zp, f32x4.add(hadd4(c, c, c, c), bb), 0);
}

// Only neurons [from, to): outputs are paired from `from`, so a split on even neurons pairs them as
// one full call does (every element's sum is then computed alike).
export function denseForward(z: usize, a: usize, w: usize, b: usize, rows: i32, inputs: i32, outputs: i32, from: i32, to: i32): void {
  if (rows <= 0 || outputs <= 0 || from < 0 || to > outputs || to <= from) return;
  const nr = <usize>rows, no = <usize>outputs, ni = <usize>(inputs < 0 ? 0 : inputs);
  const ist = ni << 2, ost = no << 2;
  const kMain = (ni & ~(<usize>3)) << 2; // bytes covered by whole vectors
  const kTail = ni & 3; // floats left over
  // rows per cache chunk: a multiple of 4 whose slice of a is ≤ 256 KiB
  let rc: usize = ist > 0 ? (<usize>262144 / ist) & ~(<usize>3) : nr;
  if (rc < 4) rc = 4;
  for (let r0: usize = 0; r0 < nr; r0 += rc) {
    const r1 = r0 + rc < nr ? r0 + rc : nr;
    let o = <usize>from;
    const end = <usize>to;
    for (; o + 2 <= end; o += 2) {
      const w0 = w + o * ist;
      const bb = v128.load64_splat(b + (o << 2));
      let r = r0;
      for (; r + 4 <= r1; r += 4) fwd4x2(z + r * ost + (o << 2), a + r * ist, w0, bb, ist, ost, kMain, kTail);
      for (; r < r1; r++) fwd1x2(z + r * ost + (o << 2), a + r * ist, w0, bb, ist, kMain, kTail);
    }
    if (o < end) {
      const w0 = w + o * ist;
      const bb = v128.load32_splat(b + (o << 2));
      let r = r0;
      for (; r + 4 <= r1; r += 4) fwd4x1(z + r * ost + (o << 2), a + r * ist, w0, bb, ist, ost, kMain, kTail);
      for (; r < r1; r++) fwd1x1(z + r * ost + (o << 2), a + r * ist, w0, bb, kMain, kTail);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Both backward products have one shape:  C[m, k] (+)= Σ_n S[n, m] · X[n, k]
// with X and C rows contiguous in k and S a matrix of scalars addressed by byte strides:
//   denseBackwardParams: C = dw (m = o), S = dz (n = r: sN = outputs·4, sM = 4), X = a, accumulate;
//   denseBackwardInput:  C = da (m = r), S = dz (n = o: sN = 4, sM = outputs·4), X = w, overwrite.
// Micro-kernel: 2 rows of C × 16 floats (4 vectors), 8 accumulators; per n, 4 vector loads of X and
// 2 splat-loads of S feed 8 multiply-adds. Loop order: 16-float column strips of C outermost (the
// strip of X, N × 64 bytes, stays in L1 while every pair of C rows is produced), pairs of m, then n.

// @ts-ignore: decorator
@inline function axpy2x4(cp: usize, sp: usize, xp: usize, n: usize, sN: usize, sM: usize, xN: usize, cM: usize, acc: bool): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c02 = f32x4.splat(0), c03 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0), c12 = f32x4.splat(0), c13 = f32x4.splat(0);
  const sEnd = sp + n * sN;
  while (sp < sEnd) {
    const x0 = v128.load(xp), x1 = v128.load(xp, 16), x2 = v128.load(xp, 32), x3 = v128.load(xp, 48);
    const g0 = v128.load32_splat(sp);
    c00 = madd(c00, g0, x0); c01 = madd(c01, g0, x1); c02 = madd(c02, g0, x2); c03 = madd(c03, g0, x3);
    const g1 = v128.load32_splat(sp + sM);
    c10 = madd(c10, g1, x0); c11 = madd(c11, g1, x1); c12 = madd(c12, g1, x2); c13 = madd(c13, g1, x3);
    sp += sN;
    xp += xN;
  }
  const cp1 = cp + cM;
  if (acc) {
    c00 = f32x4.add(v128.load(cp), c00); c01 = f32x4.add(v128.load(cp, 16), c01);
    c02 = f32x4.add(v128.load(cp, 32), c02); c03 = f32x4.add(v128.load(cp, 48), c03);
    c10 = f32x4.add(v128.load(cp1), c10); c11 = f32x4.add(v128.load(cp1, 16), c11);
    c12 = f32x4.add(v128.load(cp1, 32), c12); c13 = f32x4.add(v128.load(cp1, 48), c13);
  }
  v128.store(cp, c00); v128.store(cp, c01, 16); v128.store(cp, c02, 32); v128.store(cp, c03, 48);
  v128.store(cp1, c10); v128.store(cp1, c11, 16); v128.store(cp1, c12, 32); v128.store(cp1, c13, 48);
}

// @ts-ignore: decorator
@inline function axpy1x4(cp: usize, sp: usize, xp: usize, n: usize, sN: usize, xN: usize, acc: bool): void {
  let c0 = f32x4.splat(0), c1 = f32x4.splat(0), c2 = f32x4.splat(0), c3 = f32x4.splat(0);
  const sEnd = sp + n * sN;
  while (sp < sEnd) {
    const g = v128.load32_splat(sp);
    c0 = madd(c0, g, v128.load(xp)); c1 = madd(c1, g, v128.load(xp, 16));
    c2 = madd(c2, g, v128.load(xp, 32)); c3 = madd(c3, g, v128.load(xp, 48));
    sp += sN;
    xp += xN;
  }
  if (acc) {
    c0 = f32x4.add(v128.load(cp), c0); c1 = f32x4.add(v128.load(cp, 16), c1);
    c2 = f32x4.add(v128.load(cp, 32), c2); c3 = f32x4.add(v128.load(cp, 48), c3);
  }
  v128.store(cp, c0); v128.store(cp, c1, 16); v128.store(cp, c2, 32); v128.store(cp, c3, 48);
}

// One vector (4 floats) of C for 4 / 1 rows: the strips left when K % 16 ≥ 4.
// @ts-ignore: decorator
@inline function axpy4x1(cp: usize, sp: usize, xp: usize, n: usize, sN: usize, sM: usize, xN: usize, cM: usize, acc: bool): void {
  let c0 = f32x4.splat(0), c1 = f32x4.splat(0), c2 = f32x4.splat(0), c3 = f32x4.splat(0);
  const sEnd = sp + n * sN;
  while (sp < sEnd) {
    const x = v128.load(xp);
    c0 = madd(c0, v128.load32_splat(sp), x);
    c1 = madd(c1, v128.load32_splat(sp + sM), x);
    c2 = madd(c2, v128.load32_splat(sp + 2 * sM), x);
    c3 = madd(c3, v128.load32_splat(sp + 3 * sM), x);
    sp += sN;
    xp += xN;
  }
  const cp1 = cp + cM, cp2 = cp1 + cM, cp3 = cp2 + cM;
  if (acc) {
    c0 = f32x4.add(v128.load(cp), c0); c1 = f32x4.add(v128.load(cp1), c1);
    c2 = f32x4.add(v128.load(cp2), c2); c3 = f32x4.add(v128.load(cp3), c3);
  }
  v128.store(cp, c0); v128.store(cp1, c1); v128.store(cp2, c2); v128.store(cp3, c3);
}

// @ts-ignore: decorator
@inline function axpy1x1(cp: usize, sp: usize, xp: usize, n: usize, sN: usize, xN: usize, acc: bool): void {
  let c = f32x4.splat(0);
  const sEnd = sp + n * sN;
  while (sp < sEnd) {
    c = madd(c, v128.load32_splat(sp), v128.load(xp));
    sp += sN;
    xp += xN;
  }
  if (acc) c = f32x4.add(v128.load(cp), c);
  v128.store(cp, c);
}

function axpyPanel(c: usize, s: usize, x: usize, m: usize, n: usize, k: usize, sN: usize, sM: usize, xN: usize, cM: usize, acc: bool): void {
  const k16 = (k >> 4) << 6; // bytes in whole 16-float strips
  const k4 = (k >> 2) << 4; // bytes in whole vectors
  for (let kb: usize = 0; kb < k16; kb += 64) {
    let i: usize = 0;
    for (; i + 2 <= m; i += 2) axpy2x4(c + i * cM + kb, s + i * sM, x + kb, n, sN, sM, xN, cM, acc);
    if (i < m) axpy1x4(c + i * cM + kb, s + i * sM, x + kb, n, sN, xN, acc);
  }
  for (let kb = k16; kb < k4; kb += 16) {
    let i: usize = 0;
    for (; i + 4 <= m; i += 4) axpy4x1(c + i * cM + kb, s + i * sM, x + kb, n, sN, sM, xN, cM, acc);
    for (; i < m; i++) axpy1x1(c + i * cM + kb, s + i * sM, x + kb, n, sN, xN, acc);
  }
  // the last k % 4 columns, one scalar at a time
  for (let kb = k4; kb < (k << 2); kb += 4) {
    for (let i: usize = 0; i < m; i++) {
      let sum: f32 = 0;
      let sp = s + i * sM, xp = x + kb;
      for (let j: usize = 0; j < n; j++) {
        sum += load<f32>(sp) * load<f32>(xp);
        sp += sN;
        xp += xN;
      }
      const cp = c + i * cM + kb;
      store<f32>(cp, acc ? load<f32>(cp) + sum : sum);
    }
  }
}

// Only neurons [from, to): each dw/db element is summed over the rows in the same order whatever the
// range, so a team may split the neurons anywhere and still get the bits of one full call.
export function denseBackwardParams(dw: usize, db: usize, dz: usize, a: usize, rows: i32, inputs: i32, outputs: i32, accumulate: i32, from: i32, to: i32): void {
  if (outputs <= 0 || from < 0 || to > outputs || to <= from) return;
  const add = accumulate != 0;
  const ni = <usize>(inputs < 0 ? 0 : inputs);
  const first = <usize>from, last = <usize>to;
  if (rows <= 0) {
    // Nothing to add; in overwrite mode the sums of zero rows are zeros.
    if (!add) {
      memory.fill(db + (first << 2), 0, (last - first) << 2);
      memory.fill(dw + ((first * ni) << 2), 0, ((last - first) * ni) << 2);
    }
    return;
  }
  const nr = <usize>rows, no = <usize>outputs;
  const ist = ni << 2, ost = no << 2;
  // db[o] += Σ_r dz[r, o], in row order like the reference
  let o: usize = first;
  for (; o + 4 <= last; o += 4) {
    let acc = add ? v128.load(db + (o << 2)) : f32x4.splat(0);
    let p = dz + (o << 2);
    for (let r: usize = 0; r < nr; r++) {
      acc = f32x4.add(acc, v128.load(p));
      p += ost;
    }
    v128.store(db + (o << 2), acc);
  }
  for (; o < last; o++) {
    let acc: f32 = add ? load<f32>(db + (o << 2)) : 0;
    let p = dz + (o << 2);
    for (let r: usize = 0; r < nr; r++) {
      acc += load<f32>(p);
      p += ost;
    }
    store<f32>(db + (o << 2), acc);
  }
  // dw[o, k] += Σ_r dz[r, o] · a[r, k]
  if (ni > 0) axpyPanel(dw + first * ist, dz + (first << 2), a, last - first, nr, ni, ost, 4, ist, ist, add);
}

export function denseBackwardInput(da: usize, dz: usize, w: usize, rows: i32, inputs: i32, outputs: i32): void {
  if (rows <= 0 || inputs <= 0) return;
  const nr = <usize>rows, no = <usize>(outputs < 0 ? 0 : outputs), ni = <usize>inputs;
  const ist = ni << 2, ost = no << 2;
  // da[r, k] = Σ_o dz[r, o] · w[o, k]   (no = 0 writes zeros)
  axpyPanel(da, dz, w, nr, no, ni, 4, ost, ist, ist, false);
}

// ---------------------------------------------------------------------------------------------
// hidden activations, switched on the registry's codes (src/math/ops.ts; test/op-registry.test.ts
// checks each `case N: // name` / `kind == N) { // name` here against it)
// relu is a SIMD mask; sigmoid/tanh evaluate in f64 one element at a time like the reference; the
// backward products are done in f64x2 in the reference's operation order, so they round identically.

// @ts-ignore: decorator
@inline function sigmoid(x: f64): f64 {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/**
 * tanh from one exp (the standard library's tanh is three times slower than V8's): 1 − 2/(e^{2|x|} + 1)
 * with the sign put back. Its absolute error is ~2⁻⁵², so relative to tanh(x) ≈ x it stays below 1e-11
 * for |x| ≥ 1e-5; below that x − x³/3 is exact to f64 precision. Far below float32's 6e-8 either way.
 */
// @ts-ignore: decorator
@inline function tanh(x: f64): f64 {
  const ax = Math.abs(x);
  if (ax < 1e-5) return x - x * x * x / 3; // keeps −0 and is exact to O(x⁵)
  if (ax > 20) return copysign<f64>(1, x); // 1 − tanh(20) < 2⁻⁵³
  return copysign<f64>(1 - 2 / (Math.exp(2 * ax) + 1), x); // NaN propagates through exp
}

const GELU_SCALE: f64 = 0.7978845608028654; // √(2/π), as Math.sqrt(2 / Math.PI)
const GELU_CUBIC: f64 = 0.044715;

// out may be z (in place)
/** `count` elements in runs of `columns`, `stride` elements apart (a block of a matrix's columns). */
export function activationForward(kind: i32, out: usize, z: usize, count: i32, parameter: f64, columns: i32, stride: i32): void {
  if (count <= 0 || columns <= 0) return;
  const step = <usize>stride << 2;
  for (let done: i32 = 0, at: usize = 0; done < count; done += columns, at += step) activationForwardRun(kind, out + at, z + at, columns, parameter);
}

// @ts-ignore: decorator
@inline function activationForwardRun(kind: i32, out: usize, z: usize, count: i32, parameter: f64): void {
  const bytes = <usize>count << 2;
  const main = bytes & ~(<usize>15);
  switch (kind) {
    case 0: { // relu
      const zero = f32x4.splat(0);
      for (let i: usize = 0; i < main; i += 16) {
        const v = v128.load(z + i);
        v128.store(out + i, v128.and(v, f32x4.gt(v, zero))); // !(v > 0) → +0, NaN included
      }
      for (let i = main; i < bytes; i += 4) { const v = load<f32>(z + i); store<f32>(out + i, v > 0 ? v : 0); }
      break;
    }
    case 1: // sigmoid
      for (let i: usize = 0; i < bytes; i += 4) store<f32>(out + i, <f32>sigmoid(<f64>load<f32>(z + i)));
      break;
    case 2: // tanh
      for (let i: usize = 0; i < bytes; i += 4) store<f32>(out + i, <f32>tanh(<f64>load<f32>(z + i)));
      break;
    case 3: // leaky-relu
      for (let i: usize = 0; i < bytes; i += 4) { const v = load<f32>(z + i); store<f32>(out + i, v > 0 ? v : <f32>(<f64>v * parameter)); }
      break;
    case 4: // gelu
      for (let i: usize = 0; i < bytes; i += 4) {
        const x = <f64>load<f32>(z + i);
        store<f32>(out + i, <f32>(0.5 * x * (1 + tanh(GELU_SCALE * (x + GELU_CUBIC * x * x * x)))));
      }
      break;
    case 5: // silu
      for (let i: usize = 0; i < bytes; i += 4) { const x = <f64>load<f32>(z + i); store<f32>(out + i, <f32>(x * sigmoid(x))); }
      break;
  }
}

/** f32x4 → two f64x2 halves, f(lo), f(hi), back to f32x4. */
// @ts-ignore: decorator
@inline function promoteHi(v: v128): v128 {
  return f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 2, 3));
}
// @ts-ignore: decorator
@inline function demote2(lo: v128, hi: v128): v128 {
  return v128.shuffle<f32>(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5);
}

export function activationBackward(kind: i32, grad: usize, a: usize, count: i32, parameter: f64, columns: i32, stride: i32): void {
  if (count <= 0 || columns <= 0) return;
  const step = <usize>stride << 2;
  for (let done: i32 = 0, at: usize = 0; done < count; done += columns, at += step) activationBackwardRun(kind, grad + at, a + at, columns, parameter);
}

// @ts-ignore: decorator
@inline function activationBackwardRun(kind: i32, grad: usize, a: usize, count: i32, parameter: f64): void {
  const bytes = <usize>count << 2;
  const main = bytes & ~(<usize>15);
  // `a` is what the registry says the backward reads: the output a, or z (gelu, silu)
  if (kind == 0) { // relu: relu′ = 1 where a > 0
    const zero = f32x4.splat(0);
    for (let i: usize = 0; i < main; i += 16) {
      v128.store(grad + i, v128.and(v128.load(grad + i), f32x4.gt(v128.load(a + i), zero)));
    }
    for (let i = main; i < bytes; i += 4) if (!(load<f32>(a + i) > 0)) store<f32>(grad + i, 0);
  } else if (kind == 1) { // sigmoid: grad · a · (1 − a)
    const one = f64x2.splat(1);
    for (let i: usize = 0; i < main; i += 16) {
      const g = v128.load(grad + i), av = v128.load(a + i);
      const al = f64x2.promote_low_f32x4(av), ah = promoteHi(av);
      const lo = f64x2.mul(f64x2.mul(f64x2.promote_low_f32x4(g), al), f64x2.sub(one, al));
      const hi = f64x2.mul(f64x2.mul(promoteHi(g), ah), f64x2.sub(one, ah));
      v128.store(grad + i, demote2(lo, hi));
    }
    for (let i = main; i < bytes; i += 4) {
      const ai = <f64>load<f32>(a + i);
      store<f32>(grad + i, <f32>(<f64>load<f32>(grad + i) * ai * (1 - ai)));
    }
  } else if (kind == 2) { // tanh: grad · (1 − a²)
    const one = f64x2.splat(1);
    for (let i: usize = 0; i < main; i += 16) {
      const g = v128.load(grad + i), av = v128.load(a + i);
      const al = f64x2.promote_low_f32x4(av), ah = promoteHi(av);
      const lo = f64x2.mul(f64x2.promote_low_f32x4(g), f64x2.sub(one, f64x2.mul(al, al)));
      const hi = f64x2.mul(promoteHi(g), f64x2.sub(one, f64x2.mul(ah, ah)));
      v128.store(grad + i, demote2(lo, hi));
    }
    for (let i = main; i < bytes; i += 4) {
      const ai = <f64>load<f32>(a + i);
      store<f32>(grad + i, <f32>(<f64>load<f32>(grad + i) * (1 - ai * ai)));
    }
  } else if (kind == 3) { // leaky-relu: 1 where a > 0, else the slope
    for (let i: usize = 0; i < bytes; i += 4) {
      if (!(load<f32>(a + i) > 0)) store<f32>(grad + i, <f32>(<f64>load<f32>(grad + i) * parameter));
    }
  } else if (kind == 4) { // gelu, from z
    for (let i: usize = 0; i < bytes; i += 4) {
      const x = <f64>load<f32>(a + i);
      const t = tanh(GELU_SCALE * (x + GELU_CUBIC * x * x * x));
      store<f32>(grad + i, <f32>(<f64>load<f32>(grad + i) * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * GELU_SCALE * (1 + 3 * GELU_CUBIC * x * x))));
    }
  } else if (kind == 5) { // silu, from z: σ(z)·(1 + z·(1 − σ(z)))
    for (let i: usize = 0; i < bytes; i += 4) {
      const x = <f64>load<f32>(a + i);
      const s = sigmoid(x);
      store<f32>(grad + i, <f32>(<f64>load<f32>(grad + i) * (s * (1 + x * (1 - s)))));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// output layer + loss (kind: the registry code), scalar f64 exactly as the
// reference: out ← output activation in place, dz = out − y, returns Σ loss.

export function outputLoss(kind: i32, out: usize, dz: usize, y: usize, rows: i32, outputs: i32): f64 {
  let total: f64 = 0;
  if (rows <= 0 || outputs <= 0) return total;
  const nr = <usize>rows, no = <usize>outputs;
  const bytes = (nr * no) << 2;
  if (kind == 0) { // bce
    for (let i: usize = 0; i < bytes; i += 4) {
      const z = <f64>load<f32>(out + i);
      const t = <f64>load<f32>(y + i);
      total += Math.max(z, 0) - z * t + Math.log1p(Math.exp(-Math.abs(z)));
      const p = sigmoid(z);
      store<f32>(out + i, <f32>p);
      store<f32>(dz + i, <f32>(p - t)); // from the unrounded p, as the reference does
    }
  } else if (kind == 1) { // cross-entropy
    const ost = no << 2;
    for (let row: usize = 0; row < bytes; row += ost) {
      let max: f64 = -Infinity;
      for (let i: usize = 0; i < ost; i += 4) max = Math.max(max, <f64>load<f32>(out + row + i));
      let sumExp: f64 = 0;
      for (let i: usize = 0; i < ost; i += 4) sumExp += Math.exp(<f64>load<f32>(out + row + i) - max);
      const logSumExp = max + Math.log(sumExp);
      for (let i: usize = 0; i < ost; i += 4) {
        const z = <f64>load<f32>(out + row + i);
        const t = <f64>load<f32>(y + row + i);
        if (t != 0) total += t * (logSumExp - z);
        const p = Math.exp(z - logSumExp);
        store<f32>(out + row + i, <f32>p);
        store<f32>(dz + row + i, <f32>(p - t));
      }
    }
  } else if (kind == 2) { // mse
    for (let i: usize = 0; i < bytes; i += 4) {
      const diff = <f64>load<f32>(out + i) - <f64>load<f32>(y + i);
      total += 0.5 * diff * diff;
      store<f32>(dz + i, <f32>diff);
    }
  }
  return total;
}

// ---------------------------------------------------------------------------------------------
// addInto: into[i] += add[i] for count floats — the gradient-slab reduction, memory-bound, so plain
// 4-wide vectors suffice; the last count % 4 floats go one by one.
export function addInto(into: usize, add: usize, count: i32): void {
  const n = <usize>count;
  const main = n & ~(<usize>3);
  let i: usize = 0;
  for (; i < main; i += 4) {
    const p = into + (i << 2);
    v128.store(p, f32x4.add(v128.load(p), v128.load(add + (i << 2))));
  }
  for (; i < n; i++) {
    const p = into + (i << 2);
    store<f32>(p, load<f32>(p) + load<f32>(add + (i << 2)));
  }
}

// ---------------------------------------------------------------------------------------------
// gatherRows: into[r, ·] = data[order[r], ·] for r in [0, rows), rows of `width` floats (the caller
// checks that every order[r] names a row of the data): a batch's rows into a scratch area.
// 16 bytes at a time: memory.copy on a shared memory was slower here than this loop.
export function gatherRows(into: usize, data: usize, order: usize, rows: i32, width: i32): void {
  const bytes = (<usize>width) << 2;
  const main = bytes & ~(<usize>15);
  for (let r: usize = 0; r < <usize>rows; r++) {
    const to = into + r * bytes;
    const from = data + (<usize>load<i32>(order + (r << 2))) * bytes;
    let i: usize = 0;
    for (; i < main; i += 16) v128.store(to + i, v128.load(from + i));
    for (; i < bytes; i += 4) store<f32>(to + i, load<f32>(from + i));
  }
}

// ---------------------------------------------------------------------------------------------
// optimizer updates, switched on the registry's codes; h0…h7 are the coefficients OPTIMIZERS_BY_NAME
// writes (src/math/ops.ts). SGD: float32 SIMD; the others: f64 per element in the reference's order.
// A state buffer the rule does not keep may alias w and is not touched.
export function optimizerUpdate(kind: i32, w: usize, g: usize, first: usize, second: usize, count: i32,
  h0: f64, h1: f64, h2: f64, h3: f64, h4: f64, h5: f64, h6: f64, h7: f64): void {
  if (count <= 0) return;
  switch (kind) {
    case 0: // sgd
      sgdUpdate(w, g, <usize>count, <f32>h0, <f32>h1);
      break;
    case 1: // momentum
      momentumUpdate(w, g, first, <usize>count, h0, h1, h2, h3);
      break;
    case 2: // adam
      adamUpdate(w, g, first, second, <usize>count, h0, h1, h2, h3, h4, h5, h6, h7, false);
      break;
    case 3: // adamw
      adamUpdate(w, g, first, second, <usize>count, h0, h1, h2, h3, h4, h5, h6, h7, true);
      break;
    case 4: // rmsprop
      rmspropUpdate(w, g, first, <usize>count, h0, h1, h2, h3, h4);
      break;
  }
}

// w ← w − lrMean·g − lrDecay·w over n floats, where g holds gradient SUMS, so lrMean = lr / batch
// rows and lrDecay = lr · weight decay.
function sgdUpdate(w: usize, g: usize, n: usize, lrMean: f32, lrDecay: f32): void {
  const main = n & ~(<usize>3);
  const keep: f32 = 1 - lrDecay;
  const vMean = f32x4.splat(lrMean);
  const vKeep = f32x4.splat(keep);
  let i: usize = 0;
  for (; i < main; i += 4) {
    const p = w + (i << 2);
    v128.store(p, f32x4.sub(f32x4.mul(v128.load(p), vKeep), f32x4.mul(v128.load(g + (i << 2)), vMean)));
  }
  for (; i < n; i++) {
    const p = w + (i << 2);
    store<f32>(p, load<f32>(p) * keep - load<f32>(g + (i << 2)) * lrMean);
  }
}

function momentumUpdate(w: usize, g: usize, velocity: usize, n: usize, lr: f64, invBatch: f64, decay: f64, momentum: f64): void {
  for (let i: usize = 0; i < (n << 2); i += 4) {
    const wi = <f64>load<f32>(w + i);
    const v = momentum * <f64>load<f32>(velocity + i) + <f64>load<f32>(g + i) * invBatch + decay * wi;
    store<f32>(velocity + i, <f32>v);
    store<f32>(w + i, <f32>(wi - lr * v));
  }
}

function adamUpdate(w: usize, g: usize, first: usize, second: usize, n: usize, lr: f64, invBatch: f64, decay: f64,
  beta1: f64, beta2: f64, epsilon: f64, correction1: f64, correction2: f64, decoupled: bool): void {
  const coupled = decoupled ? 0 : decay;
  const keep = decoupled ? 1 - lr * decay : 1;
  for (let i: usize = 0; i < (n << 2); i += 4) {
    const wi = <f64>load<f32>(w + i);
    const gi = <f64>load<f32>(g + i) * invBatch + coupled * wi;
    const m = beta1 * <f64>load<f32>(first + i) + (1 - beta1) * gi;
    const s = beta2 * <f64>load<f32>(second + i) + (1 - beta2) * gi * gi;
    store<f32>(first + i, <f32>m);
    store<f32>(second + i, <f32>s);
    store<f32>(w + i, <f32>(wi * keep - (lr * (m / correction1)) / (Math.sqrt(s / correction2) + epsilon)));
  }
}

function rmspropUpdate(w: usize, g: usize, square: usize, n: usize, lr: f64, invBatch: f64, decay: f64, alpha: f64, epsilon: f64): void {
  for (let i: usize = 0; i < (n << 2); i += 4) {
    const wi = <f64>load<f32>(w + i);
    const gi = <f64>load<f32>(g + i) * invBatch + decay * wi;
    const s = alpha * <f64>load<f32>(square + i) + (1 - alpha) * gi * gi;
    store<f32>(square + i, <f32>s);
    store<f32>(w + i, <f32>(wi - (lr * gi) / (Math.sqrt(s) + epsilon)));
  }
}
