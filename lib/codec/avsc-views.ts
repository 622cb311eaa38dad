// Typed views of avsc's Type subclasses, for code that walks a schema.
//
// avsc tells its kinds apart by `typeName`, a string TypeScript cannot use as a discriminant.
// After switching on `typeName`, the codec reads the member that kind carries through one of
// these views. A view states only the members read, rather than claiming the object was built
// by a particular avsc class (which is what `type as types.RecordType` would assert).
import type { Type, types } from 'avsc';

/** typeName 'record' or 'error'. */
export type RecordView = Type & { readonly fields: readonly types.Field[] };
/** typeName 'union:unwrapped' or 'union:wrapped'. */
export type UnionView = Type & { readonly types: readonly Type[] };
/** typeName 'array'. */
export type ArrayView = Type & { readonly itemsType: Type };
/** typeName 'map' (avsc declares `valuesType` as any; it is always a Type). */
export type MapView = Type & { readonly valuesType: Type };
/** typeName 'fixed'. */
export type FixedView = Type & { readonly size: number };
/** typeName 'enum'. */
export type EnumView = Type & { readonly symbols: readonly string[] };

/**
 * Whether a field name may go into generated source as a property of an object literal: an Avro
 * name (`[A-Za-z_][A-Za-z0-9_]*`, which avsc checks too), and not "__proto__", which a literal
 * would take as the prototype.
 */
export function isLiteralFieldName(name: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) && name !== '__proto__';
}
