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
