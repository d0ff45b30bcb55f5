import { existsSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, test } from 'vitest';
import { anchorsOf, documentationFiles, linksOf, readDoc, repoRoot } from '../support/markdown.js';

const README_MAX_LINES = 200;

describe('README and docs/', () => {
  test(`When the README is read, then it has at most ${README_MAX_LINES} lines (the manual lives in docs/)`, () => {
    const lines = readDoc('README.md').replace(/\n$/, '').split('\n').length;

    expect(lines).toBeLessThanOrEqual(README_MAX_LINES);
  });

  test('When the README is read, then it links every document under docs/', () => {
    const readmeLinks = new Set(linksOf(readDoc('README.md')).map((l) => l.split('#')[0]));
    const docs = documentationFiles().filter((f) => f.startsWith('docs/'));

    expect(docs.filter((d) => !readmeLinks.has(d))).toEqual([]);
  });

  test.each(documentationFiles())('When %s links inside the repository, then every file and #anchor exists', (file) => {
    const broken: string[] = [];
    for (const link of linksOf(readDoc(file))) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(link)) continue; // https:, mailto:
      const [path, anchor] = link.split('#') as [string, string | undefined];
      const target = path === '' ? join(repoRoot, file) : normalize(join(repoRoot, dirname(file), decodeURIComponent(path)));
      if (relative(repoRoot, target).startsWith('..')) {
        broken.push(`${link}: points outside the repository`);
        continue;
      }
      if (!existsSync(target)) {
        broken.push(`${link}: no such file`);
        continue;
      }
      if (anchor && target.endsWith('.md') && statSync(target).isFile()) {
        if (!anchorsOf(readDoc(relative(repoRoot, target))).has(anchor)) broken.push(`${link}: no heading with this anchor`);
      }
    }

    expect(broken).toEqual([]);
  });
});
