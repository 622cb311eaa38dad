// CRC-64-AVRO, the 64-bit Rabin fingerprint the Avro specification uses to identify a schema
// by its Parsing Canonical Form (single-object encoding, schema stores). Pure on purpose (no
// Node imports) so it can run in any JS runtime and be tested against the spec's vectors alone.
//
// Fingerprints are only computed when schemas are loaded, never per message, so plain bigint
// arithmetic is fast enough and keeps the code obviously equal to the spec's description.

const MASK_64 = (1n << 64n) - 1n;

/** The fingerprint of the empty input, and the reflected polynomial the spec builds on. */
export const CRC64_AVRO_EMPTY = 0xc15d213aa4d7a795n;

/** Byte-at-a-time lookup table: the effect of shifting 8 bits out of the register. */
const TABLE: readonly bigint[] = Array.from({ length: 256 }, (_, index) => {
  let fp = BigInt(index);
  for (let bit = 0; bit < 8; bit++) {
    // Reflected CRC step: shift right, and fold the polynomial back in when a 1 fell out.
    fp = (fp >> 1n) ^ (fp & 1n ? CRC64_AVRO_EMPTY : 0n);
  }
  return fp;
});

const utf8 = new TextEncoder();

/** CRC-64-AVRO of raw bytes, as an unsigned 64-bit value. */
export function crc64Avro(bytes: Uint8Array): bigint {
  let fp = CRC64_AVRO_EMPTY;
  for (const byte of bytes) {
    // `& 0xffn` of a bigint never exceeds 255, so the table lookup is always defined.
    fp = (fp >> 8n) ^ (TABLE[Number((fp ^ BigInt(byte)) & 0xffn)] ?? 0n);
  }
  return fp & MASK_64;
}

/**
 * Fingerprint of a schema given as its Parsing Canonical Form (the caller produces the form;
 * this module does not parse schemas). The text is fingerprinted as UTF-8, as the spec requires.
 */
export function rabinFingerprint(canonicalForm: string): bigint {
  return crc64Avro(utf8.encode(canonicalForm));
}

/** The 8 little-endian bytes of a fingerprint, the order used on the wire after C3 01. */
export function fingerprintToBytes(fingerprint: bigint): Uint8Array {
  const bytes = new Uint8Array(8);
  let rest = fingerprint & MASK_64;
  for (let i = 0; i < 8; i++) {
    bytes[i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
  return bytes;
}

/** Inverse of fingerprintToBytes: reads 8 little-endian bytes starting at `offset`. */
export function fingerprintFromBytes(bytes: Uint8Array, offset = 0): bigint {
  if (offset < 0 || offset + 8 > bytes.length) {
    throw new RangeError(`need 8 bytes at offset ${offset}, have ${bytes.length}`);
  }
  let fp = 0n;
  // The range check above makes every index defined.
  for (let i = 7; i >= 0; i--) fp = (fp << 8n) | BigInt(bytes[offset + i] ?? 0);
  return fp;
}

/**
 * 16 lowercase hex digits of the unsigned value, most significant first — the form Avro tools
 * print, so an operator can compare with them (the wire bytes are in the reverse order).
 */
export function fingerprintToHex(fingerprint: bigint): string {
  return (fingerprint & MASK_64).toString(16).padStart(16, '0');
}

/** The same 64 bits as a signed value, the way Java-based Avro tools print fingerprints. */
export function fingerprintToSigned(fingerprint: bigint): bigint {
  return BigInt.asIntN(64, fingerprint);
}
