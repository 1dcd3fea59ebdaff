// The signature-algorithm registry the configuration asks for: the built-in families plus those
// of SIGNATURE_PLUGINS, accepting the ones SIGNATURE_ALGORITHMS lists. A plug-in is an ES module
// exporting `families`, an array of SignatureFamily (src/pki/algorithms/registry.ts,
// docs/signature-plugins.md); what it exports is checked before anything is registered, and
// every problem stops the start with one line, as a bad variable does.
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError, type Config } from '../config.ts';
import { familyNamePattern } from '../pki/algorithms/familyNames.ts';
import { builtInFamilies } from '../pki/algorithms/families/index.ts';
import { createSignatureAlgorithms, type SignatureAlgorithms, type SignatureFamily } from '../pki/algorithms/registry.ts';

export async function loadSignatureAlgorithms(
  config: Pick<Config, 'signatureAlgorithms' | 'signaturePlugins'>,
  cwd = process.cwd(),
): Promise<SignatureAlgorithms> {
  const problems: string[] = [];
  const families = [...builtInFamilies];
  for (const specifier of config.signaturePlugins) {
    let exported: unknown;
    try {
      exported = await import(moduleUrl(specifier, cwd));
    } catch (error) {
      problems.push(`SIGNATURE_PLUGINS: ${specifier} does not load (${error instanceof Error ? error.message.split('\n')[0] : String(error)})`);
      continue;
    }
    for (const family of pluginFamilies(exported, specifier, problems)) {
      if (families.some((known) => known.name === family.name)) problems.push(`SIGNATURE_PLUGINS: ${specifier} registers the family "${family.name}", which is already known`);
      else families.push(family);
    }
  }
  for (const name of config.signatureAlgorithms) {
    if (!families.some((family) => family.name === name)) {
      problems.push(`SIGNATURE_ALGORITHMS: unknown family "${name}" (known: ${families.map((family) => family.name).join(', ')})`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  try {
    return createSignatureAlgorithms({ families, enabled: config.signatureAlgorithms });
  } catch (error) {
    // Two families defining one OID differently: a plug-in clashing with another.
    throw new ConfigError([`SIGNATURE_PLUGINS: ${(error as Error).message}`]);
  }
}

/** A path (relative to the working directory) or a package name, as import() takes it. */
function moduleUrl(specifier: string, cwd: string): string {
  if (specifier.startsWith('.') || isAbsolute(specifier)) return pathToFileURL(resolve(cwd, specifier)).href;
  return specifier;
}

const oidPattern = /^[0-2](\.(0|[1-9]\d*))+$/;

/** The `families` a plug-in module exports, each checked for the shape the registry needs. */
function pluginFamilies(exported: unknown, specifier: string, problems: string[]): SignatureFamily[] {
  const list = (exported as { families?: unknown }).families;
  if (!Array.isArray(list) || list.length === 0) {
    problems.push(`SIGNATURE_PLUGINS: ${specifier} exports no "families" array`);
    return [];
  }
  return list.filter((family: unknown, index): family is SignatureFamily => {
    const where = `SIGNATURE_PLUGINS: ${specifier} families[${index}]`;
    const found = familyProblems(family);
    for (const problem of found) problems.push(`${where}: ${problem}`);
    return found.length === 0;
  });
}

function familyProblems(value: unknown): string[] {
  if (typeof value !== 'object' || value === null) return ['not an object'];
  const family = value as Record<string, unknown>;
  const problems: string[] = [];
  if (typeof family.name !== 'string' || !familyNamePattern.test(family.name)) problems.push('name is not lower-case letters, digits and hyphens');
  if (typeof family.title !== 'string' || family.title === '') problems.push('title is missing');
  const entries: Array<[string, string]> = [['keys', 'read'], ['signatures', 'scheme'], ['digests', 'hash']];
  for (const [field, method] of entries) {
    const list = family[field];
    if (!Array.isArray(list)) {
      problems.push(`${field} is not an array`);
      continue;
    }
    list.forEach((entry: unknown, index) => {
      const item = (entry ?? {}) as Record<string, unknown>;
      if (typeof item.oid !== 'string' || !oidPattern.test(item.oid)) problems.push(`${field}[${index}].oid is not a dotted OID`);
      if (typeof item.title !== 'string' || item.title === '') problems.push(`${field}[${index}].title is missing`);
      if (typeof item[method] !== 'function') problems.push(`${field}[${index}].${method} is not a function`);
    });
  }
  return problems;
}
