// Independent reference values for the beta-function tests, for integer parameters only.
//
// Nothing here uses lib/bandit: ln Γ(n) = ln((n-1)!) comes from a compensated (Kahan) running
// sum of ln k, so the references do not share the Lanczos/Stirling code they check.

let logFactorials = new Float64Array([0]);

/** ln(n!) for integer n >= 0, from a table extended on demand. */
export function logFactorial(n: number): number {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`not a factorial argument: ${n}`);
  if (n >= logFactorials.length) {
    const table = new Float64Array(Math.max(n + 1, 2 * logFactorials.length));
    table.set(logFactorials);
    let sum = logFactorials[logFactorials.length - 1] ?? 0;
    let compensation = 0;
    for (let k = logFactorials.length; k < table.length; k += 1) {
      const term = Math.log(k) - compensation;
      const next = sum + term;
      compensation = next - sum - term;
      sum = next;
      table[k] = sum;
    }
    logFactorials = table;
  }
  return logFactorials[n] ?? Number.NaN;
}

/** ln B(a, b) for positive integers: ln((a-1)! (b-1)! / (a+b-1)!). */
export function logBetaOfIntegers(a: number, b: number): number {
  return logFactorial(a - 1) + logFactorial(b - 1) - logFactorial(a + b - 1);
}

function logSumExp(terms: readonly number[]): number {
  let max = Number.NEGATIVE_INFINITY;
  for (const term of terms) max = Math.max(max, term);
  if (max === Number.NEGATIVE_INFINITY) return max;
  let sum = 0;
  for (const term of terms) sum += Math.exp(term - max);
  return max + Math.log(sum);
}

/**
 * I_x(a, b) for positive integers by the binomial identity: a Beta(a, b) variable is below x
 * exactly when at least a of a+b-1 independent U(0,1) fall below x, so
 * I_x(a, b) = Σ_{j=a}^{a+b-1} C(a+b-1, j) x^j (1-x)^(a+b-1-j).
 */
export function incompleteBetaByBinomialSum(x: number, a: number, b: number): number {
  const n = a + b - 1;
  const terms: number[] = [];
  for (let j = a; j <= n; j += 1) {
    terms.push(
      logFactorial(n) -
        logFactorial(j) -
        logFactorial(n - j) +
        j * Math.log(x) +
        (n - j) * Math.log1p(-x),
    );
  }
  return Math.exp(logSumExp(terms));
}

/**
 * P(θ_B > θ_A) for θ_A ~ Beta(αA, βA), θ_B ~ Beta(αB, βB) with integer αB (Evan Miller,
 * "Formulas for Bayesian A/B testing", 2015):
 *   Σ_{i=0}^{αB-1} B(αA+i, βA+βB) / ((βB+i) B(1+i, βB) B(αA, βA)),
 * summed in log space.
 */
export function probabilityBBeatsA(
  armA: { alpha: number; beta: number },
  armB: { alpha: number; beta: number },
): number {
  const terms: number[] = [];
  for (let i = 0; i < armB.alpha; i += 1) {
    terms.push(
      logBetaOfIntegers(armA.alpha + i, armA.beta + armB.beta) -
        Math.log(armB.beta + i) -
        logBetaOfIntegers(1 + i, armB.beta) -
        logBetaOfIntegers(armA.alpha, armA.beta),
    );
  }
  return Math.exp(logSumExp(terms));
}
