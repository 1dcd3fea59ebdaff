// Certificate policy processing, RFC 5280 §6.1.2(a),(d)–(f), §6.1.3(d)–(f), §6.1.4(a),(b),(h)–(j),
// §6.1.5(a),(b),(g). Qualifiers are not tracked: nothing downstream reads them. The tree is
// capped in size, as mappings can make it grow exponentially (CVE-2023-0464).
import { ServiceError } from '../../errors.ts';
import type { ParsedCertificate } from '../x509/model.ts';
import { OID } from '../asn1/oids.ts';

const anyPolicy = OID.anyPolicy;
const maxPolicyNodes = 1000;

interface PolicyNode {
  policy: string;
  expected: Set<string>;
  parent: PolicyNode | undefined;
  children: PolicyNode[];
}

export interface PolicyInputs {
  /** user-initial-policy-set; default {anyPolicy}. */
  initialPolicySet?: string[];
  /** initial-explicit-policy. */
  explicitPolicy?: boolean;
  /** initial-policy-mapping-inhibit. */
  policyMappingInhibit?: boolean;
  /** initial-any-policy-inhibit. */
  anyPolicyInhibit?: boolean;
}

export interface PolicyState {
  /** levels[d]: the nodes of depth d; empty levels[0] means the tree is NULL. */
  levels: PolicyNode[][];
  explicitPolicy: number;
  policyMapping: number;
  inhibitAnyPolicy: number;
  nodeCount: number;
}

/** §6.1.2 for a path of n certificates. */
export function initPolicyState(n: number, inputs: PolicyInputs): PolicyState {
  return {
    levels: [[{ policy: anyPolicy, expected: new Set([anyPolicy]), parent: undefined, children: [] }]],
    explicitPolicy: inputs.explicitPolicy === true ? 0 : n + 1,
    policyMapping: inputs.policyMappingInhibit === true ? 0 : n + 1,
    inhibitAnyPolicy: inputs.anyPolicyInhibit === true ? 0 : n + 1,
    nodeCount: 1,
  };
}

function isNull(state: PolicyState): boolean {
  return state.levels[0]!.length === 0;
}

function addChild(state: PolicyState, parent: PolicyNode, policy: string, depth: number, expected: Set<string>): void {
  if (++state.nodeCount > maxPolicyNodes) {
    throw new ServiceError('certificate_untrusted', 'the certificate policy tree grows past its limit (policy mappings)');
  }
  const node: PolicyNode = { policy, expected, parent, children: [] };
  parent.children.push(node);
  (state.levels[depth] ??= []).push(node);
}

function removeNode(state: PolicyState, node: PolicyNode, depth: number): void {
  state.levels[depth] = state.levels[depth]!.filter((n) => n !== node);
  if (node.parent !== undefined) node.parent.children = node.parent.children.filter((n) => n !== node);
  for (const child of node.children) removeNode(state, child, depth + 1);
}

/** Deletes childless nodes at depths below `depth`, deepest first (§6.1.3(d)(3)). */
function prune(state: PolicyState, depth: number): void {
  for (let d = depth - 1; d >= 0; d--) {
    for (const node of [...(state.levels[d] ?? [])]) if (node.children.length === 0) removeNode(state, node, d);
  }
}

function setNull(state: PolicyState): void {
  state.levels = [[]];
}

/** §6.1.3(d),(e) for certificate i (1-based) of n. */
export function processCertificatePolicies(state: PolicyState, cert: ParsedCertificate, i: number, n: number, selfIssued: boolean): void {
  const policies = cert.certificatePolicies;
  if (policies === undefined) {
    setNull(state);
    return;
  }
  if (isNull(state)) return;
  const parents = state.levels[i - 1] ?? [];
  state.levels[i] = [];
  for (const { oid } of policies) {
    if (oid === anyPolicy) continue;
    const matching = parents.filter((p) => p.expected.has(oid));
    const targets = matching.length > 0 ? matching : parents.filter((p) => p.policy === anyPolicy);
    for (const parent of targets) addChild(state, parent, oid, i, new Set([oid]));
  }
  const hasAnyPolicy = policies.some((p) => p.oid === anyPolicy);
  if (hasAnyPolicy && (state.inhibitAnyPolicy > 0 || (i < n && selfIssued))) {
    for (const parent of parents) {
      for (const value of parent.expected) {
        if (!parent.children.some((c) => c.policy === value)) addChild(state, parent, value, i, new Set([value]));
      }
    }
  }
  prune(state, i);
}

/** §6.1.3(f): the path may continue while explicit_policy > 0 or the tree is not NULL. */
export function policySatisfied(state: PolicyState): boolean {
  return state.explicitPolicy > 0 || !isNull(state);
}

/** §6.1.4(a),(b) for intermediate certificate i. Returns a reason when the mappings are invalid. */
export function processPolicyMappings(state: PolicyState, cert: ParsedCertificate, i: number): string | undefined {
  const mappings = cert.policyMappings;
  if (mappings === undefined) return undefined;
  if (mappings.some((m) => m.issuerDomainPolicy === anyPolicy || m.subjectDomainPolicy === anyPolicy)) {
    return 'policyMappings maps to or from anyPolicy';
  }
  if (isNull(state)) return undefined;
  const mapped = new Map<string, Set<string>>();
  for (const m of mappings) {
    const set = mapped.get(m.issuerDomainPolicy) ?? new Set<string>();
    set.add(m.subjectDomainPolicy);
    mapped.set(m.issuerDomainPolicy, set);
  }
  const level = state.levels[i] ?? [];
  for (const [issuerPolicy, subjectPolicies] of mapped) {
    const nodes = level.filter((node) => node.policy === issuerPolicy);
    if (state.policyMapping > 0) {
      for (const node of nodes) node.expected = new Set(subjectPolicies);
      const anyNode = level.find((node) => node.policy === anyPolicy);
      if (nodes.length === 0 && anyNode?.parent !== undefined) addChild(state, anyNode.parent, issuerPolicy, i, new Set(subjectPolicies));
    } else {
      for (const node of nodes) removeNode(state, node, i);
      prune(state, i);
    }
  }
  return undefined;
}

/** §6.1.4(h),(i),(j): counters after intermediate certificate processing. */
export function updatePolicyCounters(state: PolicyState, cert: ParsedCertificate, selfIssued: boolean): void {
  if (!selfIssued) {
    if (state.explicitPolicy > 0) state.explicitPolicy--;
    if (state.policyMapping > 0) state.policyMapping--;
    if (state.inhibitAnyPolicy > 0) state.inhibitAnyPolicy--;
  }
  const constraints = cert.policyConstraints;
  if (constraints?.requireExplicitPolicy !== undefined) {
    state.explicitPolicy = Math.min(state.explicitPolicy, constraints.requireExplicitPolicy);
  }
  if (constraints?.inhibitPolicyMapping !== undefined) {
    state.policyMapping = Math.min(state.policyMapping, constraints.inhibitPolicyMapping);
  }
  if (cert.inhibitAnyPolicy !== undefined) state.inhibitAnyPolicy = Math.min(state.inhibitAnyPolicy, cert.inhibitAnyPolicy);
}

/**
 * §6.1.5(a),(b),(g): final counters and the intersection with user-initial-policy-set.
 * Returns the policies the path is valid for ([] when only explicit_policy > 0 carried it),
 * or undefined when policy processing fails.
 */
export function wrapUpPolicies(state: PolicyState, leaf: ParsedCertificate, n: number, inputs: PolicyInputs): string[] | undefined {
  if (state.explicitPolicy > 0) state.explicitPolicy--;
  if (leaf.policyConstraints?.requireExplicitPolicy === 0) state.explicitPolicy = 0;
  const initial = inputs.initialPolicySet ?? [anyPolicy];
  if (!isNull(state) && !initial.includes(anyPolicy)) intersect(state, n, new Set(initial));
  if (state.explicitPolicy === 0 && isNull(state)) return undefined;
  return isNull(state) ? [] : (state.levels[n] ?? []).map((node) => node.policy);
}

function intersect(state: PolicyState, n: number, initial: Set<string>): void {
  const validPolicyNodeSet = state.levels.flat().filter((node) => node.parent?.policy === anyPolicy);
  for (const node of validPolicyNodeSet) {
    if (node.policy !== anyPolicy && !initial.has(node.policy)) removeNode(state, node, depthOf(node));
  }
  const anyLeaf = (state.levels[n] ?? []).find((node) => node.policy === anyPolicy);
  if (anyLeaf?.parent !== undefined) {
    const present = new Set(validPolicyNodeSet.map((node) => node.policy));
    for (const policy of initial) if (!present.has(policy)) addChild(state, anyLeaf.parent, policy, n, new Set([policy]));
    removeNode(state, anyLeaf, n);
  }
  prune(state, n);
}

function depthOf(node: PolicyNode): number {
  let depth = 0;
  for (let p = node.parent; p !== undefined; p = p.parent) depth++;
  return depth;
}
