import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { CONFIG_KEYS } from '../../src/config.js';
import { proseLines, readDoc, repoRoot } from '../support/markdown.js';

/** Variable names in the first cell of each table row of docs/configuration.md. */
function documentedVariables(): Set<string> {
  const names = new Set<string>();
  for (const line of proseLines(readDoc('docs/configuration.md'))) {
    const firstCell = /^\|([^|]*)\|/.exec(line)?.[1] ?? '';
    for (const m of firstCell.matchAll(/`([A-Z][A-Z0-9_]*)`/g)) names.add(m[1]);
  }
  return names;
}

function sourceText(dir: string): string {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => readFileSync(join(e.parentPath, e.name), 'utf8'))
    .join('\n');
}

describe('docs/configuration.md', () => {
  test('When a setting is in the config schema, then it has a row in docs/configuration.md', () => {
    const documented = documentedVariables();

    // To fix: add a row "| `NAME` | default | meaning |" to the right table of docs/configuration.md.
    expect(CONFIG_KEYS.filter((key) => !documented.has(key))).toEqual([]);
  });

  test('When a variable has a row, then the code still reads it (the schema, or MLflow’s own variables)', () => {
    const src = sourceText(join(repoRoot, 'src'));
    const known = new Set(CONFIG_KEYS);
    const stale = [...documentedVariables()].filter(
      (name) => !known.has(name) && !new RegExp(`(['"\`]${name}['"\`]|env\\.${name}\\b)`).test(src),
    );

    expect(stale).toEqual([]);
  });
});
