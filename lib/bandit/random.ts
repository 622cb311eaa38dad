// Random sources and samplers for the bandit math.
//
// Everything here is pure: the caller injects the uniform source, so a seeded source makes
// every sampler (and every test built on them) reproducible, and production can pass any
// uniform generator it trusts. Nothing reads a clock or Math.random.

/** A source of uniform numbers in [0, 1). */
export type RandomSource = () => number;

const TWO_POW_26 = 67_108_864;
const TWO_POW_32 = 4_294_967_296;
const TWO_POW_53 = 9_007_199_254_740_992;

/** Outputs thrown away after seeding so that nearby seeds have decorrelated streams. */
const WARM_UP_ROUNDS = 16;

/**
 * Creates a deterministic uniform source from an integer seed.
 *
 * The generator is sfc32 (Chris Doty-Humphrey's "small fast chaotic" 32-bit generator, from
 * PractRand): 128 bits of state, passes PractRand/BigCrush, and needs only 32-bit integer
 * operations, which JavaScript does exactly via `| 0` and `Math.imul`. Its state is filled by
 * splitmix32 (a Weyl sequence through the murmur3 32-bit finaliser), the usual way to turn a
 * small seed into well-mixed state. The low 32 bits of the seed fill three words and the
 * high bits the counter word, so distinct safe-integer seeds give distinct states.
 *
 * Each returned number combines two 32-bit outputs into 53 random bits (the full precision of
 * a double), so values are multiples of 2^-53 in [0, 1); tail-sensitive samplers (logs of
 * uniforms) then see no 2^-32 granularity.
 */
export function createSeededRandom(seed: number): RandomSource {
  if (!Number.isSafeInteger(seed)) {
    throw new RangeError(`seed must be a safe integer, got ${seed}`);
  }
  const low = seed >>> 0;
  const high = Math.floor(seed / TWO_POW_32) >>> 0;

  let splitState = low;
  const nextSplit = (): number => {
    splitState = (splitState + 0x9e3779b9) | 0;
    let z = splitState;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) | 0;
  };

  let a = nextSplit();
  let b = nextSplit();
  let c = nextSplit();
  splitState = high ^ 0x5bd1e995;
  let counter = nextSplit();

  const nextWord = (): number => {
    const t = (((a + b) | 0) + counter) | 0;
    counter = (counter + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };

  for (let i = 0; i < WARM_UP_ROUNDS; i += 1) nextWord();

  return () => {
    const upper = nextWord() >>> 5; // 27 bits
    const lower = nextWord() >>> 6; // 26 bits
    return (upper * TWO_POW_26 + lower) / TWO_POW_53;
  };
}

/**
 * Draws from N(0, 1) by the Box–Muller transform (Box & Muller 1958): for independent
 * U1, U2 ~ U(0, 1], sqrt(-2 ln U1) · cos(2π U2) is standard normal. The sine partner is
 * discarded so that the function stays stateless. 1 - random() lies in (0, 1], so the
 * logarithm is always finite.
 */
export function sampleStandardNormal(random: RandomSource): number {
  const radius = Math.sqrt(-2 * Math.log(1 - random()));
  return radius * Math.cos(2 * Math.PI * random());
}

/**
 * Draws from Gamma(shape, 1) (mean = variance = shape).
 *
 * Marsaglia & Tsang (2000), "A simple method for generating gamma variables", ACM TOMS 26(3):
 * with d = shape - 1/3 and c = 1/sqrt(9d), take x ~ N(0,1), v = (1 + c·x)^3 and accept d·v
 * when ln U < x²/2 + d - d·v + d·ln v (a cheap squeeze U < 1 - 0.0331·x⁴ accepts most draws
 * without logarithms). Acceptance is above 95% for every shape >= 1.
 *
 * For shape < 1 the method does not apply directly; the same paper's boost is used:
 * if G ~ Gamma(shape + 1) and U ~ U(0, 1) then G·U^(1/shape) ~ Gamma(shape).
 */
export function sampleGamma(shape: number, random: RandomSource): number {
  assertPositiveShape(shape, 'shape');
  if (shape < 1) {
    const boosted = sampleGammaAtLeastOne(shape + 1, random);
    return boosted * Math.pow(1 - random(), 1 / shape);
  }
  return sampleGammaAtLeastOne(shape, random);
}

/**
 * Draws from Beta(alpha, beta) as X / (X + Y) with X ~ Gamma(alpha), Y ~ Gamma(beta)
 * independent (the standard gamma representation of the beta distribution).
 *
 * The ratio is formed from log-gammas, 1 / (1 + exp(ln Y - ln X)), so that shapes well below
 * 1 (whose gamma draws can underflow to 0) still give a value instead of 0/0.
 */
export function sampleBeta(alpha: number, beta: number, random: RandomSource): number {
  assertPositiveShape(alpha, 'alpha');
  assertPositiveShape(beta, 'beta');
  const logX = sampleLogGamma(alpha, random);
  const logY = sampleLogGamma(beta, random);
  return 1 / (1 + Math.exp(logY - logX));
}

/** ln of a Gamma(shape) draw, staying in log space for the shape < 1 boost. */
function sampleLogGamma(shape: number, random: RandomSource): number {
  if (shape < 1) {
    const boosted = sampleGammaAtLeastOne(shape + 1, random);
    return Math.log(boosted) + Math.log(1 - random()) / shape;
  }
  return Math.log(sampleGammaAtLeastOne(shape, random));
}

/** Marsaglia–Tsang for shape >= 1 (see sampleGamma). */
function sampleGammaAtLeastOne(shape: number, random: RandomSource): number {
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    const x = sampleStandardNormal(random);
    const base = 1 + c * x;
    if (base <= 0) continue;
    const v = base * base * base;
    const u = 1 - random();
    const xSquared = x * x;
    if (u < 1 - 0.0331 * xSquared * xSquared) return d * v;
    if (Math.log(u) < 0.5 * xSquared + d * (1 - v + Math.log(v))) return d * v;
  }
}

function assertPositiveShape(value: number, name: string): void {
  if (!(Number.isFinite(value) && value > 0)) {
    throw new RangeError(`${name} must be a finite number > 0, got ${value}`);
  }
}
