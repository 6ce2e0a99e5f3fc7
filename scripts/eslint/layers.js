// The layer rule of docs/design.md (Layers), as allow-lists: a file may import, by relative path,
// only from the folders its layer lists (its own folder always). Resolved against the importing
// file, so `../ledger/x.js` from main/earnings/ is main/ledger/x.js wherever the file sits.
import { dirname, join, normalize, relative, sep } from 'node:path';

/** Whether `path` (repo-relative, posix) is inside one of `folders` (a folder ending in `/`, or one exact file). */
function inside(path, folders) {
  return folders.some((folder) => (folder.endsWith('/') ? path.startsWith(folder) : path === folder || path === folder.replace(/\.ts$/, '.js')));
}

/** ESLint rule `layers/allowed-imports`: options `[{ layer, allow }]`; `allow` lists folders (`main/ledger/`) or files. */
const allowedImports = {
  meta: { type: 'problem', schema: [{ type: 'object', properties: { layer: { type: 'string' }, allow: { type: 'array', items: { type: 'string' } } }, additionalProperties: false }] },
  create(context) {
    const { layer, allow } = context.options[0];
    const root = context.cwd;
    const file = relative(root, context.filename).split(sep).join('/');
    const check = (node, source) => {
      if (typeof source !== 'string' || !source.startsWith('.')) return;
      const target = normalize(join(dirname(file), source)).split(sep).join('/');
      if (inside(target, allow)) return;
      context.report({ node, message: `The ${layer} layer may not import ${target} (allowed: ${allow.join(', ')}; docs/design.md, Layers).` });
    };
    const fromSource = (node) => check(node, node.source?.value);
    return {
      ImportDeclaration: fromSource,
      ExportNamedDeclaration: fromSource,
      ExportAllDeclaration: fromSource,
      ImportExpression: (node) => check(node, node.source.type === 'Literal' ? node.source.value : undefined),
    };
  },
};

/** The local plugin. */
export const layersPlugin = { rules: { 'allowed-imports': allowedImports } };
