/**
 * MODEL_URI parsing. The forms are MLflow's: `models:/<name>@<alias>` and `models:/<name>/<version>`.
 * A new form (runs:/…, a plain path) becomes one more variant of ModelUri and one more branch here.
 */

export type ModelUri =
  | { readonly kind: 'alias'; readonly name: string; readonly alias: string; readonly text: string }
  | { readonly kind: 'version'; readonly name: string; readonly version: string; readonly text: string };

// why: names end up as directory names in the file registry, so separators and dot-dot are refused.
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const ALIAS = /^[A-Za-z_][A-Za-z0-9_-]*$/;
const VERSION = /^[1-9][0-9]*$/;

const FORMS = 'expected models:/<name>@<alias> or models:/<name>/<version>';

export function parseModelUri(text: string): ModelUri {
  const m = /^models:\/([^/@]+)(?:@([^/@]+)|\/([^/@]+))$/.exec(text.trim());
  if (!m) throw new Error(`${FORMS}, got ${JSON.stringify(text)}`);
  const [, name, alias, version] = m;
  if (!NAME.test(name) || name.includes('..')) {
    throw new Error(`model name ${JSON.stringify(name)} may hold only letters, digits, '.', '_' and '-'`);
  }
  if (alias !== undefined) {
    if (!ALIAS.test(alias)) throw new Error(`alias ${JSON.stringify(alias)} may hold only letters, digits, '_' and '-'`);
    return { kind: 'alias', name, alias, text };
  }
  if (!VERSION.test(version)) throw new Error(`version ${JSON.stringify(version)} must be a positive integer`);
  return { kind: 'version', name, version, text };
}
