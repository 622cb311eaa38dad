// Fails when relative imports form a cycle. Part of `npm run lint`. Reads import and export
// specifiers with the TypeScript scanner (no type checking), resolves relative ones, and runs a
// depth-first search over the graph; type-only imports count too, because a cycle of types is
// still a cycle of modules a reader must hold in mind at once.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

const root = resolve(process.argv[2] ?? '.');
const skip = new Set(['node_modules', '.git', '.dynab', 'coverage']);

function listSources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    if (skip.has(name)) return [];
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return listSources(path);
    return path.endsWith('.ts') && !path.endsWith('.d.ts') ? [path] : [];
  });
}

const files = listSources(root);
const known = new Set(files);
const graph = new Map<string, string[]>();
for (const file of files) {
  const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  graph.set(
    file,
    info.importedFiles
      .map((f) => f.fileName)
      .filter((spec) => spec.startsWith('.'))
      .map((spec) => resolve(dirname(file), spec))
      .filter((target) => known.has(target)),
  );
}

const state = new Map<string, 'visiting' | 'done'>();
const stack: string[] = [];
const cycles: string[][] = [];
function visit(file: string): void {
  state.set(file, 'visiting');
  stack.push(file);
  for (const next of graph.get(file) ?? []) {
    const s = state.get(next);
    if (s === 'visiting') cycles.push([...stack.slice(stack.indexOf(next)), next]);
    else if (s === undefined) visit(next);
  }
  stack.pop();
  state.set(file, 'done');
}
for (const file of files) if (!state.has(file)) visit(file);

if (cycles.length > 0) {
  for (const cycle of cycles) {
    process.stderr.write(`import cycle: ${cycle.map((f) => relative(root, f)).join(' -> ')}\n`);
  }
  process.exit(1);
}
process.stdout.write(`no import cycles in ${files.length} files\n`);
